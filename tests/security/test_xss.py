"""Stored XSS: what people, files and the language model wrote is shown as text on every page.

One world carries markup in every field a stranger or the model can fill: a lead's name and
company (from a lead source), a reply (from the lead), a draft and an answer (from the model), the
model's insight, labels and reading of a reply, a campaign's name, an uploaded file's name and
cells, a campaign request and the model's questions about it, an account name and its health
reason (from the provider), a notification, and the daily report's insights.

Each page is checked three ways: no payload appears raw, the payloads the page shows appear
escaped, and the parsed page has no event-handler attribute, no `javascript:` URL and no script
that is not the app's own. The dashboard's CSV exports must not start a cell a spreadsheet would
run as a formula.
"""

import csv
import io
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from campaigns.models import CampaignRequest
from leads.imports import csv_import_create
from leads.models import Activity
from leads.services import activity_record
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from reporting.reports import report_build
from reporting.views import CSV_TABLES
from salesdept.models import Notification
from salesdept.roles import ADMIN, MANAGER, REP
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

# Every payload carries "alert(": the parser check below finds it wherever it could run.
PAYLOADS = {
    "lead": "<script>alert(1)</script>",
    "company": "<img src=x onerror=alert(2)>",
    "reply": "<svg onload=alert(3)>Tuesday works</svg>",
    "draft": "<iframe src=javascript:alert(4)></iframe>",
    "insight": '<a href="javascript:alert(5)">posts about forecasting</a>',
    "analysis": "<img src=y onerror=alert(6)>",
    "answer": "<script>alert(7)</script> Tuesday at 10?",
    "campaign": "<b>x</b>",
    "file": "<img src=z onerror=alert(8)>.csv",
    "cell": '"><script>alert(9)</script>',
    "request": "<script>alert(10)</script> CFOs in Berlin",
    "question": "<img src=q onerror=alert(11)>?",
    "account": "<img src=a onerror=alert(12)>",
    "health": "<script>alert(13)</script> token expired",
    "label": "<u onmouseover=alert(14)>Speaker</u>",
    "notification": "<script>alert(15)</script> replied",
    "report_insight": "<script>alert(16)</script> replies doubled",
    "to_check": "<object data=javascript:alert(17)>",
    "reason": "<img src=t onerror=alert(20)>",
}
# Text a spreadsheet would run: in a campaign, a label, a version, a rep, an account and its reason.
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "=1+2", "-2+3"]
APP_SCRIPTS = ("/static/vendor/", "/static/js/")


def _build_world() -> dict:
    alice = UserFactory(username="alice@example.com", first_name="Alice", last_name="Rivera", role=REP)
    dan = UserFactory(username="dan@example.com", first_name="Dan", role=REP)
    bob = UserFactory(username="bob@example.com", first_name="Bob", role=MANAGER)
    UserFactory(username="carol@example.com", first_name="Carol", role=ADMIN, is_staff=True)
    account = SendingAccountFactory(
        owner=alice,
        name=PAYLOADS["account"],
        health=SendingAccount.Health.AUTH_ERROR,
        health_reason=PAYLOADS["health"],
    )
    campaign = CampaignFactory(owner=bob, name=PAYLOADS["campaign"], accounts=[account])
    lead = LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name=PAYLOADS["lead"],
        company__name=PAYLOADS["company"],
        insight=PAYLOADS["insight"],
        label=PAYLOADS["label"],
        score_breakdown=[{"factor": "title", "points": 30, "max": 30, "reason": PAYLOADS["insight"]}],
    )
    draft = MessageFactory(lead=lead, account=account, body=PAYLOADS["draft"])
    sent = MessageFactory(
        lead=lead, account=account, step=2, status=OutreachMessage.Status.SENT, sent_at=timezone.now(), body="Hello"
    )
    reply = InboundMessage.objects.create(
        lead=lead,
        account=account,
        in_reply_to=sent,
        provider_id="in-xss",
        text=PAYLOADS["reply"],
        received_at=timezone.now(),
        intent="interested",
        sentiment="positive",
        confidence=0.9,
        analysis={"key_facts": [PAYLOADS["analysis"]], "referral_name": PAYLOADS["analysis"], "generated_by": "gpt"},
    )
    MessageFactory(lead=lead, account=account, step=3, reply_to=reply, body=PAYLOADS["answer"])
    to_check = MessageFactory(
        lead=lead, account=account, step=4, status=OutreachMessage.Status.UNKNOWN, body=PAYLOADS["to_check"]
    )
    for verb in ("lead.found", "lead.qualified"):
        activity_record(verb=verb, lead=lead)
    for verb in ("message.drafted", "message.approved", "message.sent"):
        activity_record(verb=verb, lead=lead, message=sent)
    Activity.objects.create(
        lead=lead, verb="lead.note", payload={"reason": PAYLOADS["reason"], "text": PAYLOADS["reason"]}
    )
    cells = f"First Name,Last Name,Company\r\n{escape_csv(PAYLOADS['cell'])},Doe,Acme\r\n".encode()
    job = csv_import_create(user=alice, file_name=PAYLOADS["file"], data=cells, campaign=campaign)
    campaign_request = CampaignRequest.objects.create(
        requested_by=alice,
        text=PAYLOADS["request"],
        status=CampaignRequest.Status.PENDING,
        proposal={"name": PAYLOADS["campaign"], "questions": [PAYLOADS["question"]]},
        proposed_by="gpt",
    )
    Notification.objects.create(user=alice, text=PAYLOADS["notification"], url="/leads/")
    return {
        "alice": alice,
        "dan": dan,
        "bob": bob,
        "campaign": campaign,
        "lead": lead,
        "draft": draft,
        "to_check": to_check,
        "job": job,
        "request": campaign_request,
    }


def escape_csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    """Built once for the module, inside a transaction each test's own rolls back to."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_world, db) -> dict:
    return _world


class Dangers(HTMLParser):
    """What in a page could run: event handlers, javascript: URLs, scripts that are not the app's own."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "hx-get", "hx-post"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in self.URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "object", "embed", "svg", "img") and any("alert(" in (v or "") for _, v in attrs):
            self.found.append(f"<{tag}> from a payload")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            kind = dict(attrs).get("type") or ""
            if not (src.startswith(APP_SCRIPTS) or kind == "application/json"):
                self.found.append(f"<script src={src!r} type={kind!r}>")
            self._script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script and "alert(" in data:
            self.found.append(f"script running {data.strip()[:60]!r}")


def assert_shown_as_text(html: str, shown: list[str], where: str) -> None:
    raw = [key for key, payload in PAYLOADS.items() if payload in html]
    assert not raw, f"{where}: unescaped markup of {raw}"
    missing = [key for key in shown if escape(PAYLOADS[key]) not in html]
    assert not missing, f"{where}: does not show {missing} as escaped text"
    dangers = Dangers(html).found
    assert not dangers, f"{where}: {dangers}"


# (path, who, payloads it must show escaped). `{lead}` and the like are the world's objects' ids.
PAGES = [
    ("/leads/", "alice", ["lead", "company", "label"]),
    ("/leads/?q=alert", "bob", ["lead", "company"]),
    ("/leads/{lead}/", "alice", ["lead", "company", "insight", "draft", "reply", "label", "campaign", "reason"]),
    ("/approvals/", "alice", ["lead", "company", "draft", "insight", "answer", "reply", "campaign"]),
    ("/approvals/{draft}/", "alice", ["lead", "company", "draft", "insight"]),
    ("/inbox/", "alice", ["lead", "reply", "analysis"]),
    ("/inbox/", "bob", ["lead", "reply", "analysis"]),
    ("/inbox/checking/", "alice", ["lead", "to_check"]),
    ("/inbox/checking/", "bob", ["lead", "to_check", "account", "health"]),
    ("/campaigns/", "bob", ["campaign"]),
    ("/campaigns/{campaign}/", "bob", ["campaign", "account", "file"]),
    ("/campaigns/{campaign}/edit/", "bob", ["campaign"]),
    ("/dashboard/", "bob", ["campaign", "label", "account"]),
    ("/approvals/requests/", "alice", ["request"]),
    ("/approvals/requests/", "bob", ["request", "question"]),
    ("/approvals/requests/{request}/", "alice", ["request"]),
    ("/notifications/", "alice", ["notification"]),
    ("/leads/import/", "alice", ["file"]),
    ("/leads/import/{job}/", "alice", ["file", "cell"]),
    ("/leads/import/{job}/progress/", "alice", ["file"]),
]

# A page that shows markup as markup: (path, who) -> what happens. Strict, so a fix turns it red.
KNOWN_XSS: dict[tuple[str, str], str] = {}


def _page(path: str, who: str, shown: list[str]):
    marks = []
    if (path, who) in KNOWN_XSS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_XSS[(path, who)]))
    return pytest.param(path, who, shown, id=f"{path} as {who}", marks=marks)


@pytest.mark.parametrize(("path", "who", "shown"), [_page(*page) for page in PAGES])
def test_it_shows_markup_as_text(client, request, world, path, who, shown):
    ids = {name: obj.pk for name, obj in world.items()}
    url = path.format(**ids)
    response = login(client, request.getfixturevalue(who)).get(url)
    assert response.status_code == 200, url
    assert_shown_as_text(response.text, shown, f"GET {url} as {who}")


def test_the_bulk_approval_confirmation_shows_markup_as_text(client, alice, world):
    draft = world["draft"]
    response = login(client, alice).post("/approvals/bulk-approve/", {"items": [f"{draft.pk}:{draft.revision}"]})
    assert response.status_code == 200
    assert_shown_as_text(response.text, ["lead"], "the bulk approval confirmation")


REFLECTED = "<script>alert(21)</script>"
FILTERS = [
    "q", "status", "campaign", "label", "owner", "rep", "intent", "sort", "kind", "findings", "age",
    "score_min", "score_max", "needs_review", "after", "before", "page", "start", "end", "from", "to", "trend",
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/leads/", "alice"),
        ("/leads/", "bob"),
        ("/approvals/", "alice"),
        ("/approvals/", "bob"),
        ("/inbox/", "bob"),
        ("/inbox/checking/", "alice"),
        ("/notifications/", "alice"),
        ("/dashboard/", "bob"),
        ("/reports/", "bob"),
    ],
)
def test_filters_given_markup_show_it_as_text(client, request, world, path, who):
    """Reflected, not stored, but from the same templates: a crafted link must not run anything."""
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = login(client, request.getfixturevalue(who)).get(path, dict.fromkeys(FILTERS, REFLECTED), **htmx)
        assert response.status_code == 200, path
        assert REFLECTED not in response.text, f"GET {path} as {who} reflects the markup"
        assert not Dangers(response.text).found, f"GET {path} as {who}: {Dangers(response.text).found}"


@pytest.mark.parametrize(
    "html",
    [
        "<p><script>alert(1)</script></p>",
        "<p>&lt;b&gt;x&lt;/b&gt; <b>x</b></p>",
        '<a href=" JavaScript:go()">x</a>',
        '<img src="/static/x.png" onerror="go()">',
        '<div hx-get="javascript:go()"></div>',
        '<script src="https://cdn.example/x.js"></script>',
        "<script>go(); alert(document.cookie)</script>",
    ],
)
def test_the_checks_catch_markup_that_would_run(html):
    """The checks above would see a real XSS: raw payloads, handlers, javascript: URLs, foreign scripts."""
    with pytest.raises(AssertionError):
        assert_shown_as_text(html, [], "a page with an XSS")


def test_the_daily_report_email_shows_markup_as_text(client, bob, world, monkeypatch):
    """The model's insights and the campaign names, in the email and in the archive that frames it."""
    monkeypatch.setattr(
        "reporting.reports.report_insights_grounded",
        lambda metrics: ([PAYLOADS["report_insight"], f"{PAYLOADS['campaign']} leads the week"], "gpt", 0),
    )
    report = report_build(recipient=bob, day=timezone.localdate())
    assert_shown_as_text(report.html, ["report_insight", "campaign"], "the daily report email")
    assert PAYLOADS["report_insight"] in report.text  # the plain-text part shows it as written
    login(client, bob)
    for url in ("/reports/", f"/reports/{report.pk}/", f"/reports/{report.pk}/email/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_shown_as_text(response.text, [], f"GET {url} as bob")


def test_a_lead_link_is_never_a_javascript_url(client, alice, world):
    lead = world["lead"]
    lead.linkedin_url = "javascript:alert(18)"
    lead.save(update_fields=["linkedin_url"])
    response = login(client, alice).get(f"/leads/{lead.pk}/")
    assert 'href="javascript:' not in response.text
    assert not Dangers(response.text).found


@pytest.mark.parametrize("url", ["javascript:alert(19)", "//evil.example/phish", "https://evil.example/"])
def test_a_notification_opens_only_a_page_of_this_site(client, alice, world, url):
    notification = Notification.objects.create(user=alice, text="Open me", url=url)
    response = login(client, alice).post(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response.url == "/notifications/"


@pytest.fixture
def formulas(world, dan):
    """Every text the dashboard's tables export begins with something a spreadsheet would run."""
    dan.first_name, dan.last_name = FORMULAS[2], ""
    dan.save(update_fields=["first_name", "last_name"])
    account = SendingAccountFactory(
        owner=dan, name=FORMULAS[1], health=SendingAccount.Health.RESTRICTED, health_reason=FORMULAS[3]
    )
    campaign = CampaignFactory(owner=world["bob"], name=FORMULAS[0], accounts=[account])
    lead = LeadFactory(campaign=campaign, owner=dan, label=FORMULAS[4])
    message = MessageFactory(lead=lead, account=account, generated_by=FORMULAS[3], status=OutreachMessage.Status.SENT)
    for verb in ("lead.found", "lead.qualified"):
        activity_record(verb=verb, lead=lead)
    for verb in ("message.drafted", "message.approved", "message.sent", "invite.accepted", "reply.received"):
        activity_record(verb=verb, lead=lead, message=message)
    activity_record(verb="message.fatal", lead=lead, message=message)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("table", sorted(CSV_TABLES))
def test_the_dashboard_exports_never_start_a_cell_with_a_formula(client, bob, formulas, table):
    response = login(client, bob).get(f"/dashboard/export/{table}.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    risky = [
        cell
        for row in rows
        for cell in row
        if cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not _is_number(cell))
    ]
    assert not risky, f"{table}.csv: cells a spreadsheet would run: {risky}"


def test_the_formulas_reach_the_exports(client, bob, formulas):
    """So that the test above is not passing on empty tables: each formula is there, quoted."""
    login(client, bob)
    exported = "".join(
        client.get(f"/dashboard/export/{table}.csv").content.decode() for table in ("rates-campaign", "accounts")
    )
    exported += client.get("/dashboard/export/rates-label.csv").content.decode()
    exported += client.get("/dashboard/export/rates-rep.csv").content.decode()
    exported += client.get("/dashboard/export/rates-version.csv").content.decode()
    for formula in FORMULAS:
        assert f"'{formula}".replace('"', '""') in exported, formula
