"""One name per person: the same on every page and export, and rep filters list only reps."""

import csv
import io
import re
from html import unescape

import pytest
from django.contrib.auth.models import Group

from leads.models import Activity
from salesdept.roles import MANAGER, REP
from tests.conftest import login
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def options(response, name: str) -> list[str]:
    """The labels of a select's options, after its first ("Every rep")."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', response.text, re.S).group(1)
    return [unescape(label).strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)][1:]


def test_it_names_a_person_by_name_on_pages_and_in_exports(client, alice, bob, campaign, pending):
    Activity.objects.create(lead=pending.lead, verb="lead.snoozed", actor=alice)
    login(client, bob)
    for url in ("/leads/", f"/leads/{pending.lead_id}/"):
        text = client.get(url).text
        assert "Alice Rivera" in text and "alice@example.com" not in text, url
    assert "<td>Bob</td>" in client.get("/campaigns/").text  # the campaign's owner
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/export/accounts.csv").content.decode())))
    assert [row[2] for row in rows[1:]] == ["Alice Rivera", "Dan"]


def test_it_falls_back_to_the_email_for_someone_without_a_name(client, bob, campaign):
    nameless = UserFactory(username="nn@example.com", first_name="", role=REP)
    lead = LeadFactory(campaign=campaign, owner=nameless)
    assert "nn@example.com" in login(client, bob).get(f"/leads/{lead.pk}/").text


@pytest.mark.parametrize(("url", "field"), [("/leads/", "owner"), ("/approvals/", "rep"), ("/inbox/", "rep")])
def test_it_lists_only_active_reps_in_the_rep_filters(client, alice, dan, bob, carol, url, field):
    UserFactory(username="gone@example.com", first_name="Gone", role=REP, is_active=False)
    both = UserFactory(username="pat@example.com", first_name="Pat", last_name="Selling", role=MANAGER)
    both.groups.add(Group.objects.get(name=REP))  # a manager who also sells holds the rep role too
    listed = options(login(client, bob).get(url), field)
    assert [name for name in listed if name != "Not allocated"] == ["Alice Rivera", "Dan", "Pat Selling"]
