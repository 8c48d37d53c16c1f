"""The manager's dashboard: every number from a known history, its CSVs, filters, access and query count.

The history goes through the real services (activity_record, the model gateway's _saved), on
chosen days: activities take their time from timezone.now, which the builder sets.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from html.parser import HTMLParser
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.services import activity_record
from outreach.models import OutreachMessage
from reporting.metrics import bump
from reporting.models import Alert
from salesdept.llm.gateway import _saved
from salesdept.models import LLMCall
from salesdept.roles import REP
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
PERIOD = {"from": "2025-03-01", "to": "2025-03-10", "trend": "7"}
GPT = "gpt-4o-mini@draft-v2"
BEFORE_SEND = ["lead.found", "lead.qualified", "message.drafted", "message.approved", "message.sent"]


def at(day: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, 12, 0, tzinfo=dt.UTC)


def on(moment: dt.datetime):
    """Everything recorded inside happens at `moment`."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


class Tables(HTMLParser):
    """Each table's rows (thead, tbody, tfoot) as lists of cell texts, by table id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", f"table-{len(self.tables)}"), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(response) -> dict[str, list[list[str]]]:
    return Tables(response.content.decode()).tables


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def history(bob, alice, dan, alice_account, dan_account):
    """Two campaigns, two reps, two accounts, two labels, two versions, over several days.

    In the period 1–10 March 2025 (the journeys' stages, by lead):
      L1 C1 alice A Speaker template: found … positive and a meeting, 3 Mar (sent twice: one person)
      L2 C1 alice A Speaker template: found … sent, accepted, replied, 4 Mar
      L3 C1 alice B Sponsor gpt: found … sent, 5 Mar
      L4 C1 dan   B Speaker gpt: found … sent, accepted, 5 Mar
      L5 C2 dan   B Sponsor gpt: found … sent, accepted, replied, positive, 6 Mar
      L6 C2 –     – Sponsor –: found, qualified, 7 Mar
      L7 C1 dan   B Sponsor gpt: found … sent 20 Feb (outside), replied 8 Mar (inside)
      L8 C2 alice A Speaker template: everything on 12 Mar (outside)
    Owners are given after qualifying, as allocation does: found and qualified count for no rep.
    A positive reply is recorded without its message, as outreach.replies does.
    """
    c1 = CampaignFactory(name="Speakers 2025", owner=bob, accounts=[alice_account, dan_account])
    c2 = CampaignFactory(name="Sponsors", owner=bob, accounts=[dan_account])

    def journey(campaign, owner, account, label, version, moment, verbs, *, lead=None, message=None):
        with on(moment):
            if lead is None:
                lead = LeadFactory(campaign=campaign, owner=None, label=label)
            for verb in verbs:
                if verb == "message.drafted" and owner:
                    lead.owner = owner
                    lead.save(update_fields=["owner"])
                    message = MessageFactory(
                        lead=lead,
                        campaign=campaign,
                        account=account,
                        generated_by=version,
                        status=OutreachMessage.Status.SENT,
                    )
                with_message = verb not in ("lead.found", "lead.qualified", "reply.positive", "lead.meeting")
                activity_record(verb=verb, lead=lead, message=message if with_message else None)
        return lead, message

    everything = [*BEFORE_SEND, "message.sent", "invite.accepted", "reply.received", "reply.positive", "lead.meeting"]
    journey(c1, alice, alice_account, "Speaker", "template", at(3), everything)
    journey(c1, alice, alice_account, "Speaker", "template", at(4), [*BEFORE_SEND, "invite.accepted", "reply.received"])
    journey(c1, alice, dan_account, "Sponsor", GPT, at(5), BEFORE_SEND)
    journey(c1, dan, dan_account, "Speaker", GPT, at(5), [*BEFORE_SEND, "invite.accepted"])
    journey(
        c2,
        dan,
        dan_account,
        "Sponsor",
        GPT,
        at(6),
        [*BEFORE_SEND, "invite.accepted", "reply.received", "reply.positive"],
    )
    journey(c2, None, None, "Sponsor", "", at(7), ["lead.found", "lead.qualified"])
    l7, m7 = journey(c1, dan, dan_account, "Sponsor", GPT, at(20, 2), BEFORE_SEND)
    journey(c1, dan, dan_account, "Sponsor", GPT, at(8), ["reply.received"], lead=l7, message=m7)
    journey(c2, alice, alice_account, "Speaker", "template", at(12), everything)

    # Send errors: two on A and one on B in the period, one on A before it.
    errors = [(at(4), alice_account, "message.transient")] * 2 + [(at(6), dan_account, "message.fatal")]
    for moment, account, verb in [*errors, (at(20, 2), alice_account, "message.rate_limited")]:
        with on(moment):
            message = MessageFactory(lead=LeadFactory(campaign=c1), campaign=c1, account=account)
            activity_record(verb=verb, lead=message.lead, message=message)
            message.status = OutreachMessage.Status.FAILED
            message.save(update_fields=["status"])

    # Model calls: 3 × $0.01 for C1 on 3 Mar, 2 × $0.02 for C2 on 6 Mar, and $1 on 20 Feb (outside).
    calls = [(at(3), c1, "0.01")] * 3 + [(at(6), c2, "0.02")] * 2 + [(at(20, 2), c1, "1.00")]
    for moment, campaign, cost in calls:
        with on(moment):
            call = LLMCall(
                purpose="draft", backend="openai", model="m", campaign_id=campaign.pk, cost_usd=Decimal(cost)
            )
            _saved([(None, call, False)])
    return {"c1": c1, "c2": c2}


@pytest.fixture
def waiting(history, alice, dan, alice_account, dan_account):
    """Drafts waiting for approval now: 2 hours, 2 days, 4 days (C1) and 8 days (C2)."""
    now = timezone.now()
    drafts = [
        (history["c1"], alice, alice_account, dt.timedelta(hours=2)),
        (history["c1"], alice, alice_account, dt.timedelta(days=2)),
        (history["c1"], dan, dan_account, dt.timedelta(days=4)),
        (history["c2"], dan, dan_account, dt.timedelta(days=8)),
    ]
    for campaign, owner, account, age in drafts:
        message = MessageFactory(lead=LeadFactory(campaign=campaign, owner=owner), campaign=campaign, account=account)
        OutreachMessage.objects.filter(pk=message.pk).update(created_at=now - age)


STAGE_HEADERS = [
    "Found",
    "Qualified",
    "Drafted",
    "Approved",
    "Sent",
    "Accepted",
    "Replied",
    "Positive",
    "Meeting",
    "Won",
]
RATE_HEADERS = ["Sent", "Accepted", "Acceptance", "Replied", "Reply rate", "Positive", "Positive rate"]
RATES = {
    "rates-campaign": [
        ["Speakers 2025", "4", "3", "75.0%", "3", "75.0%", "1", "25.0%"],
        ["Sponsors", "1", "1", "100.0%", "1", "100.0%", "1", "100.0%"],
    ],
    "rates-label": [
        ["Speaker", "3", "3", "100.0%", "2", "66.7%", "1", "33.3%"],
        ["Sponsor", "2", "1", "50.0%", "2", "100.0%", "1", "50.0%"],
    ],
    "rates-version": [
        [GPT, "3", "2", "66.7%", "2", "66.7%", "0", "0.0%"],
        ["template", "2", "2", "100.0%", "2", "100.0%", "0", "0.0%"],
        ["Unknown", "0", "0", "–", "0", "–", "2", "–"],  # positive replies carry no message
    ],
    "rates-rep": [
        ["Alice Rivera", "3", "2", "66.7%", "2", "66.7%", "1", "33.3%"],
        ["Dan", "2", "2", "100.0%", "2", "100.0%", "1", "50.0%"],
    ],
    "rates-account": [
        ["Dan sandbox", "3", "2", "66.7%", "2", "66.7%", "0", "0.0%"],
        ["Alice sandbox", "2", "2", "100.0%", "2", "100.0%", "0", "0.0%"],
        ["No account", "0", "0", "–", "0", "–", "2", "–"],
    ],
}


def test_it_shows_every_number_of_a_known_history(client, bob, history, waiting):
    response = login(client, bob).get("/dashboard/", PERIOD)
    assert response.status_code == 200
    page = tables(response)

    assert page["funnel-table"] == [
        ["Campaign", *STAGE_HEADERS],
        ["Speakers 2025", "4", "4", "4", "4", "4", "3", "3", "1", "1", "0"],
        ["Sponsors", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"],
        ["All campaigns", "6", "6", "5", "5", "5", "4", "4", "2", "1", "0"],
    ]
    assert [(row["stage"], row["count"]) for row in response.context["funnel"]] == list(
        zip(STAGE_HEADERS, [6, 6, 5, 5, 5, 4, 4, 2, 1, 0], strict=True)
    )
    for table, rows in RATES.items():
        assert page[table][1:] == rows, table
        assert page[table][0][1:] == RATE_HEADERS
    # 7 days to 10 March: L2 on the 4th, L3 and L4 on the 5th, L5 on the 6th, L7's reply on the 8th.
    assert page["trend-table"] == [
        ["Day", "Sent", "Accepted", "Replied", "Positive"],
        ["Tue 4 Mar", "1", "1", "1", "0"],
        ["Wed 5 Mar", "2", "1", "0", "0"],
        ["Thu 6 Mar", "1", "1", "1", "1"],
        ["Fri 7 Mar", "0", "0", "0", "0"],
        ["Sat 8 Mar", "0", "0", "1", "0"],
        ["Sun 9 Mar", "0", "0", "0", "0"],
        ["Mon 10 Mar", "0", "0", "0", "0"],
    ]
    assert '<script id="trend-data" type="application/json">' in response.text
    assert response.context["trend_chart"]["series"][0] == {
        "key": "sent",
        "label": "Sent",
        "values": [1, 2, 1, 0, 0, 0, 0],
    }
    # $0.07 over 5 calls; 6 found, 4 replied, 1 meeting.
    assert page["costs-table"] == [
        ["Cost in the period", "$0.0700", "5 calls"],
        ["Per lead found", "$0.0117", "6 found"],
        ["Per reply", "$0.0175", "4 replies"],
        ["Per meeting", "$0.0700", "1 meeting"],
    ]
    # Errors / (sent + errors): A 2 / (2 + 2), B 1 / (3 + 1).
    assert page["accounts-table"] == [
        ["Account", "Channel", "Owner", "Health", "Sent", "Send errors", "Error rate"],
        ["Alice sandbox", "Sandbox (simulated)", "Alice Rivera", "OK", "2", "2", "50.0%"],
        ["Dan sandbox", "Sandbox (simulated)", "Dan", "OK", "3", "1", "25.0%"],
    ]
    assert page["backlog-table"][0] == ["Drafts waiting now", "4"]
    assert page["backlog-table"][1][0] == "Oldest waiting"
    assert page["backlog-table"][1][1].startswith("1 week, 1 day")
    assert page["backlog-table"][2:] == [
        ["Waiting over 1 day", "3"],
        ["Waiting over 3 days", "2"],
        ["Waiting over 7 days", "1"],
    ]


def test_it_shows_the_trend_over_30_and_90_days(client, bob, history):
    response = login(client, bob).get("/dashboard/", {**PERIOD, "trend": "30"})
    rows = tables(response)["trend-table"][1:]
    assert len(rows) == 30
    assert rows[0][0] == "Sun 9 Feb" and rows[-1][0] == "Mon 10 Mar"
    assert rows[11] == ["Thu 20 Feb", "1", "0", "0", "0"]  # L7 sent
    assert rows[22] == ["Mon 3 Mar", "1", "1", "1", "1"]  # L1, sent twice: one person
    assert sum(int(row[1]) for row in rows) == 6
    response = client.get("/dashboard/", {**PERIOD, "trend": "90"})
    assert len(tables(response)["trend-table"]) == 91


def test_every_csv_has_the_pages_numbers(client, bob, history, waiting):
    login(client, bob)
    page = tables(client.get("/dashboard/", PERIOD))

    response = client.get("/dashboard/export/funnel.csv", PERIOD)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dashboard-funnel-2025-03-01-to-2025-03-10.csv"'
    assert csv_rows(response) == page["funnel-table"]

    for dimension in ("campaign", "label", "version", "rep", "account"):
        rows = csv_rows(client.get(f"/dashboard/export/rates-{dimension}.csv", PERIOD))
        # Values, not the page's formatting: rates are numbers, "–" is an empty cell.
        expected = [[cell.removesuffix("%").replace("–", "") for cell in row] for row in RATES[f"rates-{dimension}"]]
        assert rows[1:] == expected, dimension
        assert rows[0][1:] == [
            "Sent",
            "Accepted",
            "Acceptance rate (%)",
            "Replied",
            "Reply rate (%)",
            "Positive",
            "Positive reply rate (%)",
        ]

    trend = csv_rows(client.get("/dashboard/export/trend.csv", PERIOD))
    assert trend[0] == ["Day", "Sent", "Accepted", "Replied", "Positive"]
    assert trend[1:] == [
        ["2025-03-04", "1", "1", "1", "0"],
        ["2025-03-05", "2", "1", "0", "0"],
        ["2025-03-06", "1", "1", "1", "1"],
        ["2025-03-07", "0", "0", "0", "0"],
        ["2025-03-08", "0", "0", "1", "0"],
        ["2025-03-09", "0", "0", "0", "0"],
        ["2025-03-10", "0", "0", "0", "0"],
    ]
    assert csv_rows(client.get("/dashboard/export/costs.csv", PERIOD))[1] == [
        "0.0700",
        "5",
        "6",
        "4",
        "1",
        "0.0117",
        "0.0175",
        "0.0700",
    ]
    accounts = csv_rows(client.get("/dashboard/export/accounts.csv", PERIOD))
    assert accounts[0] == ["Account", "Channel", "Owner", "Health", "Reason", "Sent", "Send errors", "Error rate (%)"]
    assert accounts[1:] == [
        ["Alice sandbox", "Sandbox (simulated)", "Alice Rivera", "OK", "", "2", "2", "50.0"],
        ["Dan sandbox", "Sandbox (simulated)", "Dan", "OK", "", "3", "1", "25.0"],
    ]
    backlog = csv_rows(client.get("/dashboard/export/backlog.csv", PERIOD))
    assert backlog[0][0] == "Waiting for approval"
    assert [backlog[1][i] for i in (0, 2, 3, 4, 5)] == ["4", "3", "2", "1", "0"]
    assert dt.datetime.fromisoformat(backlog[1][1]) < timezone.now() - dt.timedelta(days=8)


def test_the_csv_links_keep_the_filters(client, bob, history):
    response = login(client, bob).get("/dashboard/", {**PERIOD, "campaign": history["c2"].pk})
    link = f"/dashboard/export/funnel.csv?from=2025-03-01&amp;to=2025-03-10&amp;trend=7&amp;campaign={history['c2'].pk}"
    assert link in response.text
    # funnel, trend, 5 rate tables, pipeline, lost reasons, 4 conversion tables, costs, backlog, accounts
    assert response.text.count("/dashboard/export/") == 16
    rows = csv_rows(client.get(link.replace("&amp;", "&")))
    assert rows[1:] == [
        ["Sponsors", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"],
        ["All campaigns", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"],
    ]


def test_csv_cells_that_look_like_formulas_are_quoted(client, bob, alice, alice_account):
    campaign = CampaignFactory(name='=HYPERLINK("http://evil.example")', owner=bob, accounts=[alice_account])
    other = CampaignFactory(name="-2+3", owner=bob)
    today = timezone.localdate()
    bump(day=today, stage="sent", campaign_id=campaign.pk, label="@label", version="+v1")
    bump(day=today, stage="sent", campaign_id=other.pk)
    login(client, bob)
    funnel = csv_rows(client.get("/dashboard/export/funnel.csv"))
    assert [row[0] for row in funnel[1:]] == ["'-2+3", '\'=HYPERLINK("http://evil.example")', "All campaigns"]
    assert csv_rows(client.get("/dashboard/export/rates-label.csv"))[1][0] == "'@label"
    assert csv_rows(client.get("/dashboard/export/rates-version.csv"))[1][0] == "'+v1"


def test_an_unknown_csv_table_is_404(client, bob):
    assert login(client, bob).get("/dashboard/export/leads.csv").status_code == 404


def test_filters_narrow_by_campaign(client, bob, history, waiting):
    response = login(client, bob).get("/dashboard/", {**PERIOD, "campaign": history["c2"].pk})
    page = tables(response)
    assert page["funnel-table"][1:] == [
        ["Sponsors", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"],
        ["All campaigns", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"],
    ]
    assert page["rates-rep"][1:] == [["Dan", "1", "1", "100.0%", "1", "100.0%", "1", "100.0%"]]
    assert page["costs-table"][0] == ["Cost in the period", "$0.0400", "2 calls"]
    assert page["backlog-table"][0] == ["Drafts waiting now", "1"]  # the 8-day-old draft
    assert [row[0] for row in page["accounts-table"][1:]] == ["Dan sandbox"]  # C2's only account
    assert "Sponsors · All reps" in " ".join(response.text.split())


def test_filters_narrow_by_rep(client, bob, alice, history, waiting):
    response = login(client, bob).get("/dashboard/", {**PERIOD, "rep": alice.pk})
    page = tables(response)
    # Found and qualified were reached before alice owned the leads.
    assert page["funnel-table"][-1] == ["All campaigns", "0", "0", "3", "3", "3", "2", "2", "1", "1", "0"]
    assert page["rates-rep"][1:] == [["Alice Rivera", "3", "2", "66.7%", "2", "66.7%", "1", "33.3%"]]
    assert "Model calls are counted per campaign, not per rep" in response.text
    assert "costs-table" not in page
    assert page["backlog-table"][0] == ["Drafts waiting now", "2"]
    assert [row[0] for row in page["accounts-table"][1:]] == ["Alice sandbox"]


def test_filters_narrow_by_dates(client, bob, history):
    response = login(client, bob).get("/dashboard/", {"from": "2025-03-12", "to": "2025-03-12"})
    assert tables(response)["funnel-table"][1:] == [
        ["Sponsors", "1", "1", "1", "1", "1", "1", "1", "1", "1", "0"],
        ["All campaigns", "1", "1", "1", "1", "1", "1", "1", "1", "1", "0"],
    ]
    response = client.get("/dashboard/", {"from": "2025-02-01", "to": "2025-02-28"})
    assert tables(response)["funnel-table"][-1] == ["All campaigns", "1", "1", "1", "1", "1", "0", "0", "0", "0", "0"]


def test_it_shows_the_last_30_days_by_default(client, bob, campaign):
    today = timezone.localdate()
    bump(day=today, stage="sent", campaign_id=campaign.pk)
    bump(day=today - dt.timedelta(days=29), stage="sent", campaign_id=campaign.pk)
    bump(day=today - dt.timedelta(days=30), stage="sent", campaign_id=campaign.pk)  # a day too old
    response = login(client, bob).get("/dashboard/")
    assert response.context["filters"].start == today - dt.timedelta(days=29)
    assert response.context["filters"].end == today
    assert tables(response)["funnel-table"][-1][5] == "2"
    assert f'value="{today.day} {today:%b %Y}"' in response.text  # the dates in use fill the form, day first


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2025-03-10", "to": "2025-03-01"}, "The end date must be on or after the start date."),
        ({"from": "2024-01-01", "to": "2025-03-01"}, "Choose a period of at most 366 days (this one has 426)."),
        ({"from": "yesterday"}, "Type a date such as 5 Nov 2026."),
        ({"campaign": "999999"}, "Select a valid choice."),
        ({"rep": "abc"}, "Select a valid choice."),
        ({"trend": "365"}, "Select a valid choice."),
    ],
)
def test_bad_filters_say_why_and_show_the_default_view(client, bob, campaign, params, message):
    today = timezone.localdate()
    bump(day=today, stage="sent", campaign_id=campaign.pk)
    response = login(client, bob).get("/dashboard/", params)
    assert response.status_code == 200
    assert message in response.text
    assert "showing the last 30 days for every campaign and rep" in response.text
    assert response.context["filters"].start == today - dt.timedelta(days=29)
    assert tables(response)["funnel-table"][-1][5] == "1"
    assert 'aria-invalid="true"' in response.text


def test_a_full_year_is_allowed(client, bob):
    response = login(client, bob).get("/dashboard/", {"from": "2024-01-01", "to": "2024-12-31"})  # 366 days
    assert response.context["form"].errors == {}
    assert response.context["filters"].start == dt.date(2024, 1, 1)


def test_it_answers_htmx_with_the_body_alone(client, bob, history):
    Alert.objects.create(
        kind=Alert.Kind.BACKLOG_AGE, message="12 drafts waited over 24 hours", opened_at=timezone.now()
    )
    login(client, bob)
    page = client.get("/dashboard/", PERIOD)
    assert "12 drafts waited over 24 hours" in page.text  # the open alerts' banner
    assert 'src="/static/js/dashboard.js"' in page.text and "chart-4.6.1.umd.js" in page.text
    fragment = client.get("/dashboard/", {**PERIOD, "campaign": history["c2"].pk}, **HTMX)
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="dashboard-body"')
    assert tables(fragment)["funnel-table"][-1] == ["All campaigns", "2", "2", "1", "1", "1", "1", "1", "1", "0", "0"]


def test_it_has_no_inline_script(client, bob, history):
    text = login(client, bob).get("/dashboard/", PERIOD).text
    scripts = text.split("<script")[1:]
    assert all('src="' in script.split(">")[0] or 'type="application/json"' in script for script in scripts)
    assert "onclick" not in text and "hx-on" not in text


def test_reps_and_people_without_a_role_get_403(client, alice, mallory):
    assert login(client, alice).get("/dashboard/").status_code == 403
    assert client.get("/dashboard/export/funnel.csv").status_code == 403
    assert login(client, mallory).get("/dashboard/").status_code == 403


def test_it_refuses_post(client, bob):
    assert login(client, bob).post("/dashboard/").status_code == 405


def _world(n: int, bob) -> None:
    """n campaigns, reps and accounts with counts on every stage and a waiting draft each."""
    today = timezone.localdate()
    for i in range(n):
        rep = UserFactory(first_name=f"Rep{i}", role=REP)
        account = SendingAccountFactory(owner=rep)
        campaign = CampaignFactory(owner=bob, accounts=[account])
        for stage in ["found", "sent", "accepted", "replied", "positive", "send_error"]:
            bump(day=today, stage=stage, campaign_id=campaign.pk, rep_id=rep.pk, account_id=account.pk, label=f"L{i}")
        bump(day=today, stage="llm", campaign_id=campaign.pk, cost=Decimal("0.01"))
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=rep), campaign=campaign, account=account)


# The page's own queries: alerts, campaigns and people for the filters, the period's counts,
# accounts, trend and backlog (7), the pipeline's open deals, stages and closed deals (3); the rest
# are the session, user, roles and the navigation's counts.
DASHBOARD_QUERIES = 15


def test_its_queries_do_not_grow_with_campaigns_reps_or_accounts(client, bob, django_assert_max_num_queries):
    login(client, bob)
    _world(2, bob)
    with CaptureQueriesContext(connection) as few:
        client.get("/dashboard/")
    _world(18, bob)
    with django_assert_max_num_queries(DASHBOARD_QUERIES), CaptureQueriesContext(connection) as many:
        response = client.get("/dashboard/")
    assert len(few) == len(many) == DASHBOARD_QUERIES
    assert len(tables(response)["rates-campaign"]) == 21
    with django_assert_max_num_queries(DASHBOARD_QUERIES - 1):  # htmx: no alerts banner
        client.get("/dashboard/", **HTMX)


def test_filters_cost_no_more_queries(client, bob, alice, history, django_assert_max_num_queries):
    """Alice's counts include dan's account (L3): its name comes with the accounts' one query."""
    login(client, bob)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get("/dashboard/", {**PERIOD, "rep": alice.pk, "campaign": history["c1"].pk})
    assert [row[0] for row in tables(response)["rates-account"][1:]] == ["Alice sandbox", "Dan sandbox", "No account"]
    assert [row[0] for row in tables(response)["accounts-table"][1:]] == ["Alice sandbox"]


def test_the_selectors_give_the_same_numbers_to_other_readers(history, alice_account, dan_account):
    """The daily report reads these directly: each stands alone with its period and filters."""
    from reporting import selectors

    period = {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 3, 10)}
    assert [row["count"] for row in selectors.funnel(**period)] == [6, 6, 5, 5, 5, 4, 4, 2, 1, 0]
    assert [row["count"] for row in selectors.funnel(campaign_id=history["c2"].pk)] == [3, 3, 2, 2, 2, 2, 2, 2, 1, 0]
    assert [(row["name"], row["counts"][4]) for row in selectors.funnel_by_campaign(**period)] == [
        ("Speakers 2025", 4),
        ("Sponsors", 1),
    ]
    by_account = {row["name"]: row for row in selectors.rates("account", **period)}
    assert (by_account["Dan sandbox"]["sent"], by_account["Dan sandbox"]["acceptance"]) == (3, 66.7)
    assert by_account["No account"]["reply"] is None
    costs = selectors.llm_cost_per(**period)
    assert (costs["cost"], costs["per_lead"], costs["per_reply"], costs["per_meeting"]) == (
        Decimal("0.0700"),
        Decimal("0.0117"),
        Decimal("0.0175"),
        Decimal("0.0700"),
    )
    errors = selectors.send_error_rates(**period)
    assert errors[alice_account.pk] == {"sent": 2, "errors": 2, "error_rate": 50.0}
    assert errors[dan_account.pk] == {"sent": 3, "errors": 1, "error_rate": 25.0}
    assert selectors.trend(days=7, end=period["end"])["series"]["replied"] == [1, 0, 1, 0, 1, 0, 0]
