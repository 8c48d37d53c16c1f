import re
from pathlib import Path

from leads.templatetags.timeline import LABELS, verb_label
from outreach.channels.base import ChannelError

ROOT = Path(__file__).resolve().parents[2]


def test_every_verb_on_a_lead_timeline_reads_as_words():
    source = "\n".join(p.read_text() for app in ("leads", "outreach", "campaigns") for p in (ROOT / app).rglob("*.py"))
    verbs = set(re.findall(r'verb="((?:lead|message|reply)\.[a-z_]+)"', source))
    verbs |= {"lead.qualified", "lead.disqualified"} | {f"message.{error.value}" for error in ChannelError}
    assert verbs - set(LABELS) == set()


def test_an_unknown_verb_still_reads():
    assert verb_label("campaign.paused") == "Campaign: paused"
