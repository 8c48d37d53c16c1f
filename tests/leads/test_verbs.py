"""The verb registry: every verb the code writes is registered, labelled and, if a milestone, counted."""

import ast
import re
from pathlib import Path

import pytest

from campaigns.models import Campaign
from leads.lifecycle import MOVES
from leads.models import Activity
from leads.services import activity_record
from leads.templatetags.timeline import verb_label
from leads.verbs import FUNNEL_STAGE_OF, SEND_ERRORS, STAGE, Verb
from outreach.channels.base import ChannelError
from reporting.models import EVENTS, STAGES
from tests.factories import LeadFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("leads", "campaigns", "outreach", "approvals", "reporting", "salesdept", "proposals")
VERB_SHAPE = re.compile(r"^(lead|message|reply|invite|email|campaign|account|report|privacy|needs|proposal)\.[a-z_]+$")


def _product_modules():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text())


def _verbs_in_code() -> tuple[set[str], set[str]]:
    """Verb-shaped string constants, and the literal prefixes of f-string verbs (f"campaign.{x}")."""
    literals, prefixes = set(), set()
    for _, tree in _product_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and VERB_SHAPE.match(node.value):
                literals.add(node.value)
            if isinstance(node, ast.keyword) and node.arg == "verb" and isinstance(node.value, ast.JoinedStr):
                head = node.value.values[0]
                prefixes.add(head.value if isinstance(head, ast.Constant) else "")
    return literals, prefixes


def test_it_registers_every_verb_written_in_the_code():
    literals, prefixes = _verbs_in_code()
    assert literals, "the scan found no verbs: it is broken"
    assert literals - set(Verb.values) == set()
    # Each f-string verb is expanded here over what fills it; a new one must be added.
    expanded = {
        "campaign.": {f"campaign.{status}" for status in Campaign.Status.values if status != Campaign.Status.DRAFT},
        "message.": {f"message.{error.value}" for error in ChannelError},
    }
    assert prefixes <= set(expanded), f"f-string verbs the test cannot expand: {prefixes - set(expanded)}"
    for prefix in prefixes:
        assert expanded[prefix] - set(Verb.values) == set()


def test_it_registers_every_verb_a_lead_move_writes():
    assert {move.verb for move in MOVES} <= set(Verb.values)


def test_it_refuses_an_unknown_verb_loudly(db):
    lead = LeadFactory()
    with pytest.raises(ValueError, match="lead.qualifed"):
        activity_record(verb="lead.qualifed", lead=lead)
    assert not Activity.objects.filter(lead=lead).exists()


def test_it_records_a_registered_verb_as_its_plain_value(db):
    activity = activity_record(verb=Verb.LEAD_FOUND, lead=LeadFactory())
    activity.refresh_from_db()
    assert activity.verb == "lead.found"


def test_it_counts_every_funnel_stage_from_at_least_one_verb():
    assert set(STAGES) - set(FUNNEL_STAGE_OF.values()) == set()
    assert set(STAGE.values()) <= set(STAGES) | set(EVENTS)
    assert SEND_ERRORS and all(verb.startswith("message.") for verb in SEND_ERRORS)


def test_it_counts_a_duplicate_send_as_no_error():
    assert "message.duplicate" not in SEND_ERRORS


def test_it_labels_every_verb_in_words():
    for verb in Verb:
        assert verb.label and verb.label != verb.value
        assert verb_label(verb.value) == verb.label


def test_it_still_reads_an_unregistered_stored_verb():
    assert verb_label("campaign.archived") == "Campaign: archived"
