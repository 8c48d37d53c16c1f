"""Accessibility in a real browser: axe-core finds no serious or critical problem on any page, for any role.

The pages are every GET URL of the permissions matrix (tests/security/test_permissions.py) that answers the
role with 200, built from the same objects (tests/security/world.py) and filled in further so axe reads the
markup of real work, not empty states: drafts waiting, a lead with a timeline and a conversation, an analysed
reply in the inbox, a month of dashboard numbers, an open alert and a built daily report.

axe-core is vendored (tests/e2e/vendor/): nothing is downloaded when the tests run.
"""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import APIResponse, Browser, BrowserContext

from leads.models import Lead
from leads.services import activity_record
from library.models import ContentItem, Nurture
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.replies import inbound_analyse, inbound_record
from reporting.metrics import bump
from reporting.models import Alert
from reporting.reports import report_build
from salesdept import clock
from tests.e2e.conftest import queue_drafts, sign_in
from tests.factories import LeadFactory, MessageFactory
from tests.security.test_permissions import ROWS
from tests.security.world import build_world

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

# Evaluated through the DevTools protocol, which the pages' CSP (script-src 'self') rightly does not stop.
AXE = (Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js").read_text()
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
BLOCKING = ("serious", "critical")
ROLES = {"rep": "alice", "manager": "bob", "admin": "carol"}
# What each page must show for axe to have read real work (a page a role cannot open is not looked at).
SHOWN = {
    "approvals:queue": "Hi Lena",
    "leads:detail": "Found by a lead search",
    "outreach:inbox": "Happy to talk about forecasting",
    "leads:import_detail": "The rows as read",
    "reporting:dashboard": "12% of sends failed",
    "profile": "Connect LinkedIn",
    "competitors:list": "We launch Ledgerline Close.",
    "competitors:detail": "Unlike Ledgerline, we can show this",
    "crm:connection": "moved on both sides",
    "crm:mapping": "jobtitle",
    "deals:board": "Send the deck",
    "deals:detail": "Deal opened",
    "proposals:needs": "not said",
    "proposals:edit": "Send the proposal",
}

# Only the rules of the standard (WCAG 2.0-2.2 A and AA), not axe's best-practice advice. Not inside
# iframes: the only one is the daily report's email, sandboxed without scripts (axe would wait for it
# forever), and checked as a page of its own (reports:email).
RUN_AXE = """async () => {
  const results = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    resultTypes: ["violations"],
    iframes: false,
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def _fill_in(world: dict[str, dict]) -> None:
    """More than one of each thing, as a working day has: what empty states alone would never show axe."""
    lead = Lead.objects.select_related("campaign", "owner").get(pk=world["lead"]["pk"])
    alice, campaign = lead.owner, lead.campaign
    account = OutreachMessage.objects.get(pk=world["draft"]["pk"]).account
    queue_drafts(campaign, alice, account, [92, 81, 64, 47])
    # LinkedIn logged alice's account out: the banner, /me/ and Needs checking offer "Reconnect".
    SendingAccount.objects.filter(pk=world["linkedin"]["pk"]).update(
        health=SendingAccount.Health.AUTH_ERROR, health_reason="LinkedIn logged us out.", paused_by_provider=True
    )
    for verb in ("lead.found", "lead.qualified", "lead.allocated", "message.drafted"):
        activity_record(verb=verb, lead=lead, note="seen at the Summit")
    # What leads.intent read of their LinkedIn activity: the lead page lists it.
    at = clock.now().isoformat()
    Lead.objects.filter(pk=lead.pk).update(
        activity_read_at=clock.now(),
        activity=[
            {"kind": "post", "at": at, "text": "Rethinking forecasting", "url": "https://www.linkedin.com/feed/x"},
            {"kind": "reaction", "at": at, "about": "competitor", "who": "Ledgerline", "text": ""},
            {"kind": "job_change", "at": at, "text": "Started a new role"},
        ],
    )

    # A nurturing touch waiting in the queue, named by its tag.
    touch = MessageFactory(
        lead=LeadFactory(campaign=campaign, owner=alice, score=88, status=Lead.Status.MEETING),
        campaign=campaign,
        account=account,
        step=0,
        kind=OutreachMessage.Kind.MESSAGE,
    )
    Nurture.objects.create(
        lead=touch.lead,
        message=touch,
        reason=Nurture.Reason.SHARE,
        item=ContentItem.objects.get(pk=world["item"]["pk"]),
        week=clock.today(dt.UTC),
    )

    talker = LeadFactory(
        campaign=campaign, owner=alice, first_name="Maximiliane", last_name="Oberhauser", status=Lead.Status.CONTACTED
    )
    sent = MessageFactory(
        lead=talker, account=account, status=OutreachMessage.Status.SENT, sent_at=clock.now() - dt.timedelta(days=1)
    )
    item = InboundItem(
        provider_id="axe-reply-1",
        sender_provider_id=talker.provider_id,
        text="Thanks for reaching out. Happy to talk about forecasting next week, Tuesday afternoon works.",
        received_at=clock.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    assert inbound_record(account=account, item=item)
    inbound_analyse(inbound_id=InboundMessage.objects.get(provider_id="axe-reply-1").pk)

    today = clock.today(dt.UTC)
    for i in range(14):
        day = today - dt.timedelta(days=i)
        dims = {"campaign_id": campaign.pk, "rep_id": alice.pk, "account_id": account.pk, "label": "Speaker"}
        bump(day=day, stage="found", n=30 + i, campaign_id=campaign.pk)
        bump(day=day, stage="qualified", n=20 + i, campaign_id=campaign.pk)
        for stage, n in [("drafted", 12), ("approved", 10), ("sent", 10), ("accepted", 5), ("replied", 2)]:
            bump(day=day, stage=stage, n=n, version="template", **dims)
        bump(day=day, stage="llm", n=9, cost=Decimal("0.0189"), campaign_id=campaign.pk)
    Alert.objects.create(
        kind=Alert.Kind.ERROR_RATE,
        key=str(account.pk),
        message="Alice sandbox: 12% of sends failed in the last hour",
        opened_at=clock.now(),
    )
    # A library fact: the competitor's page and the campaign's offer a counter-move angle.
    ContentItem.objects.create(title="Case", url="https://example.com/cs", summary="s", facts=["Used by 40 banks"])
    report = report_build(recipient=campaign.owner, day=today - dt.timedelta(days=1))
    world["report"] = {"pk": report.pk}


def _pages(role: str, world: dict[str, dict]) -> list[str]:
    """The GET URLs of the matrix the role may open (200): pages, and the downloads and fragments among them."""
    return [
        reverse(row.name, kwargs=world[row.obj])
        for row in ROWS.values()
        if row.method == "GET" and row.answers[role] == "200"
    ]


def _is_a_page(response: APIResponse) -> bool:
    """A CSV download, a JSON probe or an htmx fragment is not a page: fragments are checked inside theirs."""
    return response.headers.get("content-type", "").startswith("text/html") and "<html" in response.text()


def _scriptless(response: APIResponse) -> bool:
    """A page whose CSP sandboxes it without scripts (the report email): axe cannot run inside it."""
    policy = response.headers.get("content-security-policy", "")
    return "sandbox" in policy and "allow-scripts" not in policy


def _violations(context: BrowserContext, url: str, response: APIResponse) -> list[str]:
    page = context.new_page()
    try:
        if _scriptless(response):
            page.set_content(response.text())  # the same markup, in a blank page where axe may run
        else:
            page.goto(url)
            page.wait_for_load_state("networkidle")
        page.evaluate(AXE)
        found = page.evaluate(RUN_AXE)
    finally:
        page.close()
    return [
        f"{url}: {v['impact']} {v['id']} ({v['help']}) at {node['target']}: {node['summary']}"
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


@pytest.fixture
def world(db) -> dict[str, dict]:
    world = build_world()
    _fill_in(world)
    return world


@pytest.mark.parametrize("role", ROLES)
def test_it_finds_no_serious_accessibility_problem_on_any_page(browser: Browser, live_server, world, role):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, email=f"{ROLES[role]}@example.com", password=FACTORY_PASSWORD)  # once: the context keeps it
        page.close()
        responses = {url: context.request.get(url) for url in _pages(role, world)}
        pages = [url for url, response in responses.items() if _is_a_page(response)]
        texts = {url: responses[url].text() for url in pages}
        problems = [problem for url in pages for problem in _violations(context, url, responses[url])]
    finally:
        context.close()
    assert {reverse("approvals:item", kwargs=world["draft"]), reverse("leads:detail", kwargs=world["lead"])} <= set(
        pages
    )
    for name, text in SHOWN.items():
        url = reverse(name, kwargs=world[ROWS[name].obj])
        assert url not in texts or text in texts[url], f"{url} as {role} does not show {text!r}"
    print(f"axe checked {len(pages)} pages as {role} ({ROLES[role]})")
    assert not problems, f"{len(problems)} serious or critical problems as {role}:\n" + "\n".join(problems)


def test_the_salesforce_connection_page_has_no_serious_problem(browser: Browser, live_server, bob, settings):
    """Not in the matrix's world (its CRM is HubSpot): the connected-app form, blank and connected."""
    from crm.services import connection_save
    from tests.fakes.salesforce_server import FakeSalesforce

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
        page.close()
        url = "/settings/crm/salesforce/"
        blank = context.request.get(url)
        assert "Consumer secret" in blank.text() and "Not connected yet" in blank.text()
        problems = _violations(context, url, blank)
        with FakeSalesforce() as fake:
            settings.SALESFORCE_CA_BUNDLE = str(fake.cert_path)
            credentials = {"instance_url": fake.instance_url, "client_id": fake.client_id}
            credentials |= {"client_secret": fake.client_secret, "multi_currency": False}
            connection_save(kind="salesforce", credentials=json.dumps(credentials), actor=bob, connected_as="Acme")
            for path in (url, f"{url}mapping/"):
                response = context.request.get(path)
                assert response.status == 200 and fake.client_secret not in response.text()
                problems += _violations(context, path, response)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
