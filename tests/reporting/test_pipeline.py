"""The pipeline in the dashboard, its CSVs and the daily report, from a known history of deals.

Twelve people over three campaigns and two reps are sent a message; eight reply; six deals are
opened from those conversations (five in EUR, one in USD) and moved on different days of
March 2025 through the real services (deals.services), so every count comes from the timeline
the product writes. Then rebuild_metrics recomputes the counts from that timeline: every number
must come out the same.
"""

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from deals.models import Deal, DealStage
from deals.services import deal_move, deal_open
from leads.models import Lead
from leads.services import activity_record
from outreach.models import OutreachMessage
from reporting.models import DailyReport
from reporting.pipeline import pipeline
from reporting.reports import report_build, report_send
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory, MessageFactory
from tests.reporting.test_dashboard import csv_rows, tables

pytestmark = pytest.mark.django_db
PERIOD = {"from": "2025-03-01", "to": "2025-03-10", "trend": "7"}
GPT = "gpt-4o-mini@draft-v2"


def at(day: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, 12, 0, tzinfo=dt.UTC)


@contextmanager
def on(day: int):
    """Everything inside happens at noon UTC on `day` March 2025 (the clock and the rows' times)."""
    with time_machine.travel(at(day), tick=False):
        yield


def person(campaign, owner, account, label: str, version: str, *, sent: int, replied: int | None = None) -> Lead:
    """A person sent a first message on `sent`, who replied to it on `replied` (or never)."""
    lead = LeadFactory(campaign=campaign, owner=owner, label=label, status=Lead.Status.CONTACTED)
    with on(sent):
        message = MessageFactory(
            lead=lead, campaign=campaign, account=account, generated_by=version, status=OutreachMessage.Status.SENT
        )
        activity_record(verb="message.sent", lead=lead, message=message)
    if replied:
        with on(replied):
            activity_record(verb="reply.received", lead=lead, message=message)
    return lead


def deal(lead: Lead, *, opened: int, value: str, currency: str, moves=()) -> Deal:
    """A deal opened from the conversation on `opened`, then moved: [(day, stage name, lost reason)]."""
    with on(opened):
        opened_deal = deal_open(lead=lead, actor=lead.owner, value=Decimal(value), currency=currency)
    for day, name, *reason in moves:
        with on(day):
            opened_deal = deal_move(
                deal=opened_deal, stage=DealStage.objects.get(name=name), actor=lead.owner, reason="".join(reason)
            )
    return opened_deal


@pytest.fixture
def history(bob, alice, dan, alice_account, dan_account):
    """March 2025 (L = person, D = deal; alice writes with the template, dan with GPT, except L9):

    Fintech CFOs   L1 alice Speaker  replied 2  D1 10,000 EUR opened 3, needs 4, proposal 5, won 7
                   L2 alice Sponsor  replied 2  D2  4,000 EUR opened 3, lost 6 "Chose a competitor"
                   L3 dan   Speaker  replied 3
                   L4 dan   Sponsor  no reply
    Speakers 2025  L5 dan   Speaker  replied 4  D3  5,000 USD opened 5, negotiation 8 (open)
                   L6 dan   Sponsor  replied 4  D4  2,500 EUR opened 6, won 9
                   L7 alice Speaker  no reply
                   L8 alice Speaker  replied 5  D5  7,000 EUR opened 8 (open, meeting)
    Sponsors       L9 alice Sponsor  replied 6  D6  3,000 EUR opened 7, proposal 9 (open); written by GPT
                   L10 dan  Sponsor  no reply
                   L11 dan  Speaker  replied 9
                   L12 alice Sponsor no reply
    """
    fintech = CampaignFactory(name="Fintech CFOs", owner=bob, accounts=[alice_account, dan_account])
    speakers = CampaignFactory(name="Speakers 2025", owner=bob, accounts=[alice_account, dan_account])
    sponsors = CampaignFactory(name="Sponsors", owner=bob, accounts=[alice_account, dan_account])
    a = (alice, alice_account)
    d = (dan, dan_account)

    l1 = person(fintech, *a, "Speaker", "template", sent=1, replied=2)
    l2 = person(fintech, *a, "Sponsor", "template", sent=1, replied=2)
    person(fintech, *d, "Speaker", GPT, sent=1, replied=3)
    person(fintech, *d, "Sponsor", GPT, sent=1)
    l5 = person(speakers, *d, "Speaker", GPT, sent=2, replied=4)
    l6 = person(speakers, *d, "Sponsor", GPT, sent=2, replied=4)
    person(speakers, *a, "Speaker", "template", sent=2)
    l8 = person(speakers, *a, "Speaker", "template", sent=2, replied=5)
    l9 = person(sponsors, *a, "Sponsor", GPT, sent=3, replied=6)
    person(sponsors, *d, "Sponsor", GPT, sent=3)
    person(sponsors, *d, "Speaker", GPT, sent=3, replied=9)
    person(sponsors, *a, "Sponsor", "template", sent=3)

    deal(l1, opened=3, value="10000", currency="EUR", moves=[(4, "Needs assessed"), (5, "Proposal sent"), (7, "Won")])
    deal(l2, opened=3, value="4000", currency="EUR", moves=[(6, "Lost", "Chose a competitor")])
    deal(l5, opened=5, value="5000", currency="USD", moves=[(8, "Negotiation")])
    deal(l6, opened=6, value="2500", currency="EUR", moves=[(9, "Won")])
    deal(l8, opened=8, value="7000", currency="EUR")
    deal(l9, opened=7, value="3000", currency="EUR", moves=[(9, "Proposal sent")])
    return {"fintech": fintech, "speakers": speakers, "sponsors": sponsors}


CONVERSION_HEAD = ["Replied", "Meetings", "Won", "Reply → meeting", "Meeting → won", "Reply → won"]
# 8 replied; 6 had a meeting (a deal opened); 2 won.
ALL = ["All", "8", "6", "2", "75.0%", "33.3%", "25.0%"]
PAGE = {
    "pipeline-stages": [
        ["Stage · probability", "Deals", "Value", "Weighted"],
        ["Meeting · 20%", "1", "7,000.00 EUR", "1,400.00 EUR"],
        ["Needs assessed · 40%", "0", "–", "–"],
        ["Proposal sent · 60%", "1", "3,000.00 EUR", "1,800.00 EUR"],
        ["Negotiation · 80%", "1", "5,000.00 USD", "4,000.00 USD"],
        ["All open deals", "3", "10,000.00 EUR 5,000.00 USD", "3,200.00 EUR 4,000.00 USD"],
    ],
    # D1 took 4 days (3 → 7), D4 3 days (6 → 9); D2 was lost after 3 (3 → 6).
    "pipeline-closed": [
        ["Outcome", "Deals", "Value", "Average days to close"],
        ["Won", "2", "12,500.00 EUR", "3.5"],
        ["Lost", "1", "4,000.00 EUR", "3.0"],
    ],
    "pipeline-lost-reasons": [["Reason", "Deals"], ["Chose a competitor", "1"]],
    "conversion-campaign": [
        ["Campaign", *CONVERSION_HEAD],
        ["Fintech CFOs", "3", "2", "1", "66.7%", "50.0%", "33.3%"],
        ["Speakers 2025", "3", "3", "1", "100.0%", "33.3%", "33.3%"],
        ["Sponsors", "2", "1", "0", "50.0%", "0.0%", "0.0%"],
        ALL,
    ],
    "conversion-label": [
        ["Label", *CONVERSION_HEAD],
        ["Speaker", "5", "3", "1", "60.0%", "33.3%", "20.0%"],
        ["Sponsor", "3", "3", "1", "100.0%", "33.3%", "33.3%"],
        ALL,
    ],
    # A meeting and a win count for the version of the message the person replied to.
    "conversion-version": [
        ["Message version", *CONVERSION_HEAD],
        [GPT, "5", "3", "1", "60.0%", "33.3%", "20.0%"],
        ["template", "3", "3", "1", "100.0%", "33.3%", "33.3%"],
        ALL,
    ],
    "conversion-rep": [
        ["Rep", *CONVERSION_HEAD],
        ["Alice Rivera", "4", "4", "1", "100.0%", "25.0%", "25.0%"],
        ["Dan", "4", "2", "1", "50.0%", "50.0%", "25.0%"],
        ALL,
    ],
}
CSV = {
    "pipeline": [
        ["Stage", "Deals", "Currency", "Deals in this currency", "Value", "Probability (%)", "Weighted value"]
        + ["Average days to close"],
        ["Meeting (open now)", "1", "EUR", "1", "7000.00", "20", "1400.00", ""],
        ["Needs assessed (open now)", "0", "", "0", "0", "40", "0", ""],
        ["Proposal sent (open now)", "1", "EUR", "1", "3000.00", "60", "1800.00", ""],
        ["Negotiation (open now)", "1", "USD", "1", "5000.00", "80", "4000.00", ""],
        ["Won in the period", "2", "EUR", "2", "12500.00", "", "", "3.5"],
        ["Lost in the period", "1", "EUR", "1", "4000.00", "", "", "3.0"],
    ],
    "pipeline-lost-reasons": [["Lost reason", "Deals"], ["Chose a competitor", "1"]],
}
CSV_CONVERSION_HEAD = ["Replied", "Meetings", "Won", "Reply to meeting (%)", "Meeting to won (%)", "Reply to won (%)"]


def csv_conversion(rows: list[list[str]]) -> list[list[str]]:
    """The page's conversion rows as the CSV writes them: rates are numbers, "–" an empty cell."""
    return [[cell.removesuffix("%").replace("–", "") for cell in row] for row in rows]


# The report of 9 March: D4 won that day, L11 replied; the deals open when the report is made.
REPORT_9_MARCH = """PIPELINE (values per currency, never added across currencies)
Open deals now: 3, value 10,000.00 EUR · 5,000.00 USD, weighted 3,200.00 EUR · 4,000.00 USD
  Meeting (20%): 1 deal, value 7,000.00 EUR, weighted 1,400.00 EUR
  Needs assessed (40%): 0 deals, value –, weighted –
  Proposal sent (60%): 1 deal, value 3,000.00 EUR, weighted 1,800.00 EUR
  Negotiation (80%): 1 deal, value 5,000.00 USD, weighted 4,000.00 USD
Won on this day: 1, value 2,500.00 EUR, average days to close 3.0
Lost on this day: 0, value –, average days to close –
Conversion on this day: replied 1, meetings 0 (0.0% of replies), won 1 (– of meetings, 100.0% of replies)
"""
REPORT_6_MARCH_CLOSED = """Won on this day: 0, value –, average days to close –
Lost on this day: 1, value 4,000.00 EUR, average days to close 3.0
  Lost because: Chose a competitor (1)
Conversion on this day: replied 1, meetings 1 (100.0% of replies), won 0 (0.0% of meetings, 0.0% of replies)
"""


def pipeline_section(text: str) -> str:
    start = text.index("PIPELINE (")
    return text[start : text.index("QUEUE, SENDING AND COST")].rstrip("\n") + "\n"


def emailed(bob, day: dt.date, mailoutbox) -> str:
    """The text part of the report of `day` as it is emailed."""
    report = report_build(recipient=bob, day=day)
    assert report_send(report_id=report.pk)
    return pipeline_section(mailoutbox[-1].body)


def check_dashboard_and_csvs(client) -> None:
    page = tables(client.get("/dashboard/", PERIOD))
    for table, rows in PAGE.items():
        assert page[table] == rows, table
    # The funnel's last stages come from the deals: 8 replied, 6 meetings, 2 won in the period.
    assert page["funnel-table"][-1][-4:] == ["8", "0", "6", "2"]  # replied, positive, meeting, won
    assert page["funnel-table"][0][-2:] == ["Meeting", "Won"]
    for table, rows in CSV.items():
        assert csv_rows(client.get(f"/dashboard/export/{table}.csv", PERIOD)) == rows, table
    for dimension in ("campaign", "label", "version", "rep"):
        rows = csv_rows(client.get(f"/dashboard/export/conversion-{dimension}.csv", PERIOD))
        assert rows[0][1:] == CSV_CONVERSION_HEAD
        assert rows[1:] == csv_conversion(PAGE[f"conversion-{dimension}"][1:]), dimension


def test_it_shows_every_pipeline_number_on_the_page_and_in_the_csvs(client, bob, history):
    login(client, bob)
    check_dashboard_and_csvs(client)


def test_the_daily_report_emails_the_days_pipeline(bob, history, mailoutbox):
    assert emailed(bob, dt.date(2025, 3, 9), mailoutbox) == REPORT_9_MARCH
    assert emailed(bob, dt.date(2025, 3, 6), mailoutbox).endswith(REPORT_6_MARCH_CLOSED)
    html = DailyReport.objects.get(date=dt.date(2025, 3, 9)).html
    assert "Pipeline" in html and "3,200.00 EUR · 4,000.00 USD" in html and "2,500.00 EUR" in html


def test_a_rebuild_from_the_timeline_gives_the_same_numbers(client, bob, history, mailoutbox):
    login(client, bob)
    before = emailed(bob, dt.date(2025, 3, 9), mailoutbox)
    call_command("rebuild_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    check_dashboard_and_csvs(client)
    DailyReport.objects.all().delete()
    assert emailed(bob, dt.date(2025, 3, 9), mailoutbox) == before == REPORT_9_MARCH


def test_a_deal_won_yesterday_is_in_yesterdays_report_not_todays(bob, history, mailoutbox):
    assert "Won on this day: 1, value 2,500.00 EUR" in emailed(bob, dt.date(2025, 3, 9), mailoutbox)
    today = emailed(bob, dt.date(2025, 3, 10), mailoutbox)
    assert "Won on this day: 0, value –, average days to close –" in today
    assert "won 0 (" in today


def test_the_period_bounds_the_deals_closed(client, bob, history):
    login(client, bob)
    closed = tables(client.get("/dashboard/", {"from": "2025-03-09", "to": "2025-03-10"}))["pipeline-closed"]
    assert closed[1:] == [["Won", "1", "2,500.00 EUR", "3.0"], ["Lost", "0", "–", "–"]]
    closed = tables(client.get("/dashboard/", {"from": "2025-03-10", "to": "2025-03-10"}))["pipeline-closed"]
    assert closed[1:] == [["Won", "0", "–", "–"], ["Lost", "0", "–", "–"]]


def test_a_rep_filter_shows_only_their_deals(client, bob, dan, history):
    page = tables(login(client, bob).get("/dashboard/", {**PERIOD, "rep": dan.pk}))
    assert page["pipeline-stages"][1:] == [
        ["Meeting · 20%", "0", "–", "–"],
        ["Needs assessed · 40%", "0", "–", "–"],
        ["Proposal sent · 60%", "0", "–", "–"],
        ["Negotiation · 80%", "1", "5,000.00 USD", "4,000.00 USD"],
        ["All open deals", "1", "5,000.00 USD", "4,000.00 USD"],
    ]
    assert page["pipeline-closed"][1:] == [["Won", "1", "2,500.00 EUR", "3.0"], ["Lost", "0", "–", "–"]]
    assert page["pipeline-lost-reasons"][1:] == [["No deal was lost in this period."]]
    assert page["conversion-rep"][1:] == [
        ["Dan", "4", "2", "1", "50.0%", "50.0%", "25.0%"],
        ["All", "4", "2", "1", "50.0%", "50.0%", "25.0%"],
    ]


def test_a_campaign_filter_shows_only_its_deals(client, bob, history):
    page = tables(login(client, bob).get("/dashboard/", {**PERIOD, "campaign": history["fintech"].pk}))
    assert page["pipeline-stages"][-1] == ["All open deals", "0", "–", "–"]
    assert page["pipeline-closed"][1:] == [["Won", "1", "10,000.00 EUR", "4.0"], ["Lost", "1", "4,000.00 EUR", "3.0"]]


def test_currencies_are_never_added(client, bob, alice, alice_account, campaign):
    """Two deals at one stage in EUR and USD, two won in EUR and GBP: each amount stands alone."""
    leads = [person(campaign, alice, alice_account, "Speaker", "template", sent=1, replied=2) for _ in range(4)]
    deal(leads[0], opened=3, value="1000", currency="EUR")
    deal(leads[1], opened=3, value="2000", currency="usd")
    deal(leads[2], opened=3, value="300", currency="EUR", moves=[(5, "Won")])
    deal(leads[3], opened=3, value="400", currency="GBP", moves=[(5, "Won")])
    page = tables(login(client, bob).get("/dashboard/", PERIOD))
    assert page["pipeline-stages"][1] == ["Meeting · 20%", "2", "1,000.00 EUR 2,000.00 USD", "200.00 EUR 400.00 USD"]
    assert page["pipeline-closed"][1] == ["Won", "2", "300.00 EUR 400.00 GBP", "2.0"]
    rows = csv_rows(client.get("/dashboard/export/pipeline.csv", PERIOD))
    assert rows[1] == ["Meeting (open now)", "2", "EUR", "1", "1000.00", "20", "200.00", ""]
    assert rows[2] == ["Meeting (open now)", "2", "USD", "1", "2000.00", "20", "400.00", ""]
    assert [row[2:5] for row in rows if row[0] == "Won in the period"] == [
        ["EUR", "1", "300.00"],
        ["GBP", "1", "400.00"],
    ]


def test_the_pipeline_reads_three_queries_whatever_the_number_of_deals(
    bob, alice, alice_account, campaign, history, django_assert_num_queries
):
    period = {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 3, 10)}
    with django_assert_num_queries(3):
        few = pipeline(**period)
    for lead in [person(campaign, alice, alice_account, "Speaker", "template", sent=1, replied=2) for _ in range(12)]:
        deal(lead, opened=3, value="100", currency="CHF", moves=[(4, "Needs assessed"), (5, "Lost", "No budget")])
    with django_assert_num_queries(3):
        many = pipeline(**period)
    assert (few["lost"]["deals"], many["lost"]["deals"]) == (1, 13)
    assert many["lost"]["reasons"] == [
        {"reason": "No budget", "deals": 12},
        {"reason": "Chose a competitor", "deals": 1},
    ]
    assert many["lost"]["value"] == {"CHF": Decimal("1200.00"), "EUR": Decimal("4000.00")}


def test_the_dashboard_reads_no_more_queries_with_deals(client, bob, history, django_assert_max_num_queries):
    from tests.reporting.test_dashboard import DASHBOARD_QUERIES

    login(client, bob)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        client.get("/dashboard/", PERIOD)


def test_a_meeting_before_any_reply_counts_for_no_version_live_and_rebuilt(alice, alice_account, campaign):
    """The reply that came after the meeting did not bring it: the rebuild agrees with the live count."""
    from reporting.models import DailyCount

    lead = person(campaign, alice, alice_account, "Speaker", "template", sent=1)
    opened = deal(lead, opened=2, value="100", currency="EUR")  # booked by phone, say
    with on(3):
        activity_record(verb="reply.received", lead=lead, message=lead.messages.get())
    with on(4):
        deal_move(deal=opened, stage=DealStage.objects.get(name="Won"), actor=alice)

    def versions() -> dict[str, str]:
        rows = DailyCount.objects.filter(stage__in=["replied", "meeting", "won"]).values_list("stage", "version")
        return dict(rows)

    assert versions() == {"replied": "template", "meeting": "", "won": "template"}
    call_command("rebuild_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert versions() == {"replied": "template", "meeting": "", "won": "template"}
