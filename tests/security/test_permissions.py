"""Every URL of the project × every role → the one answer it must give.

The matrix below is the decision for each URL. A URL the resolver knows but the matrix does not
fails `test_it_has_a_decision_for_every_url`: a new view cannot ship without one.

Roles (columns):
  anon     not logged in
  rep      alice, a rep who owns the object in the URL (her lead, her draft, her import...)
  other    dan, another rep: alice's objects must not exist for him (404, never their content)
  manager  bob (the recipient of the report)
  admin    carol
  none     mallory, logged in but without a role

Answers:
  200    the page (or the form again, for a POST that was not valid)
  302    a redirect that is not the login page (done, or refused with a message)
  login  302 to the login page
  400    the form again, with its errors (the API: a JSON error)
  401    the API's JSON "send a token", where a page would redirect to the login page
  202    the API's JSON "started": the work goes on in the background
  409    the API's JSON "not now": the record is not in a state that allows it
  403, 404, 405

Objects (the `object` column): every one of them belongs to alice or is shared.
  draft         alice's draft waiting for approval
  lead          alice's lead
  to_check      alice's message whose send nobody is sure about
  reply         alice's lead's reply, waiting for a look
  import        alice's CSV import (uploaded, with rows left out)
  request       alice's campaign request, waiting for a manager
  notification  alice's notification
  account       alice's sending account
  campaign      a campaign (bob's)
  report        bob's daily report
  table         a dashboard table (the funnel)
  token         alice's lead's unsubscribe token
  task          alice's open task on her lead
  linkedin      alice's LinkedIn account (Unipile)
  link          alice's pending "Connect LinkedIn" link, named with a wrong secret
  post          alice's LinkedIn post waiting for approval
  item          a content library item (shared)
  endpoint      a webhook endpoint (bob's: the team's)
  delivery      a delivery to that endpoint
  competitor    a watched competitor (the team's), with a post and a weekly summary
  api_token     alice's personal API token
  crm           the team's HubSpot connection (its token carries SECRET: never shown), with a run and a
                refused record of alice's lead
  deal          alice's open deal with another lead of hers (dan has his own, dans_deal)
  needs         alice's lead's needs summary
  proposal      alice's lead's draft proposal (from a shared offer)
  proposal_link the prospect's link to that proposal: it serves nothing until its message is approved

The REST API (api:*) answers in JSON: 401 with no session and no token (never the login page),
403 to a person without a role. Tokens are checked in tests/api; here the browser's session signs in.
An empty POST to it is a 400 before the object is read (the body is checked first), so another rep
gets a 400 there too: tests/api shows a valid body on alice's objects gives him 404.

POST-only (and PATCH) URLs are checked with an empty body: what must be refused is refused before any form is
read; what is allowed answers as an empty form does.
"""

import dataclasses
import datetime as dt

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campaigns.models import Campaign, CampaignRequest
from deals.models import Deal
from leads.models import Activity, ImportJob, Lead, Task
from outreach.models import OutreachMessage, SendingAccount, WebhookEvent
from reporting.models import DailyReport
from salesdept.models import ApiToken, Notification
from tests.conftest import login
from tests.security.world import SECRET, build_world

pytestmark = pytest.mark.django_db

ROLES = ("anon", "rep", "other", "manager", "admin", "none")
USERS = {"rep": "alice", "other": "dan", "manager": "bob", "admin": "carol", "none": "mallory"}
SKIPPED_PREFIXES = ("admin/", "accounts/", "static/", "media/")  # Django's and allauth's own, and files

MATRIX = """
url name                     method object        anon   rep    other  manager admin  none
home                         GET    -             login  302    302    302     302    403
healthz                      GET    -             200    200    200    200     200    200
metrics                      GET    -             200    200    200    200     200    200
notifications                GET    -             login  200    200    200     200    200
notification_open            POST   notification  login  302    404    404     404    404
getting_started              GET    -             login  403    403    403     200    403
profile                      GET    -             login  200    200    200     200    200
mailbox                      GET    -             login  200    200    200     200    403
profile_signature            POST   -             login  302    302    302     302    302
profile_report_time          POST   -             login  403    403    400     400    403
api_token_new                POST   -             login  400    400    400     400    400
api_token_revoke             POST   api_token     login  302    404    404     404    404
team_settings                GET    -             login  403    403    200     200    403
settings_model               POST   -             login  403    403    200     200    403
settings_unipile             POST   -             login  403    403    200     200    403
hooks:endpoints              GET    -             login  403    403    200     200    403
hooks:add                    POST   -             login  403    403    400     400    403
hooks:endpoint               GET    endpoint      login  403    403    200     200    403
hooks:remove                 POST   endpoint      login  403    403    302     302    403
hooks:replay                 POST   delivery      login  403    403    302     302    403
crm:index                    GET    -             login  403    403    200     200    403
crm:connection               GET    crm           login  403    403    200     200    403
crm:connect                  POST   crm           login  403    403    400     400    403
crm:sync                     POST   crm           login  403    403    302     302    403
crm:mapping                  GET    crm           login  403    403    200     200    403
crm:mapping_save             POST   crm           login  403    403    400     400    403
approvals:queue              GET    -             login  200    200    200     200    403
approvals:count              GET    -             login  200    200    200     200    403
approvals:total              GET    -             login  200    200    200     200    403
approvals:bulk_approve       POST   -             login  302    302    302     302    403
approvals:bulk_undo          POST   -             login  302    302    302     302    403
approvals:requests           GET    -             login  200    200    200     200    403
approvals:request_new        POST   -             login  400    400    400     400    403
approvals:request_card       GET    request       login  200    404    200     200    403
approvals:request_approve    POST   request       login  403    403    400     400    403
approvals:request_reject     POST   request       login  403    403    302     302    403
posts:queue                  GET    -             login  200    200    200     200    403
posts:detail                 GET    post          login  200    404    200     200    403
posts:approve                POST   post          login  302    404    302     302    403
posts:reject                 POST   post          login  302    404    302     302    403
posts:settle                 POST   post          login  302    404    302     302    403
posts:opt_in                 POST   -             login  302    302    302     302    403
library:list                 GET    -             login  403    403    200     200    403
library:add                  GET    -             login  403    403    200     200    403
library:edit                 GET    item          login  403    403    200     200    403
library:toggle               POST   item          login  403    403    302     302    403
approvals:item               GET    draft         login  200    404    200     200    403
approvals:approve            POST   draft         login  302    404    302     302    403
approvals:regenerate         POST   draft         login  302    404    302     302    403
approvals:reject             POST   draft         login  302    404    302     302    403
approvals:snooze             POST   draft         login  302    404    302     302    403
approvals:undo               POST   draft         login  302    404    302     302    403
leads:list                   GET    -             login  200    200    200     200    403
leads:list_csv               GET    -             login  200    200    200     200    403
leads:detail                 GET    lead          login  200    404    200     200    403
leads:do_not_contact         POST   lead          login  302    404    302     302    403
leads:score                  POST   lead          login  302    404    302     302    403
leads:meeting                POST   lead          login  302    404    302     302    403
leads:nurture                POST   lead          login  302    404    302     302    403
leads:snooze                 POST   lead          login  200    404    200     200    403
leads:write                  POST   lead          login  200    404    200     200    403
leads:relabel                POST   lead          login  302    404    302     302    403
leads:requalify              POST   lead          login  302    404    302     302    403
leads:task_add               POST   lead          login  200    404    200     200    403
leads:tasks                  GET    -             login  200    200    200     200    403
leads:task_done              POST   task          login  302    404    302     302    403
leads:task_cancel            POST   task          login  302    404    302     302    403
leads:export                 GET    lead          login  403    403    200     200    403
proposals:needs_draft        POST   lead          login  302    404    302     302    403
proposals:needs              GET    needs         login  200    404    200     200    403
proposals:create             POST   needs         login  400    404    400     400    403
proposals:edit               GET    proposal      login  200    404    200     200    403
proposals:pdf                GET    proposal      login  200    404    200     200    403
proposals:send               POST   proposal      login  302    404    302     302    403
proposals:reopen             POST   proposal      login  400    404    400     400    403
proposals:new_version        POST   proposal      login  400    404    400     400    403
proposal_link:pdf            GET    proposal_link 404    404    404    404     404    404
leads:erase                  POST   lead          login  403    403    302     302    403
leads:import_new             GET    -             login  200    200    200     200    403
leads:import_detail          GET    import        login  200    404    200     200    403
leads:import_progress        GET    import        login  200    404    200     200    403
leads:import_errors          GET    import        login  200    404    200     200    403
deals:board                  GET    -             login  200    200    200     200    403
deals:detail                 GET    deal          login  200    404    200     200    403
deals:move                   POST   deal          login  400    404    400     400    403
deals:edit                   POST   deal          login  400    404    400     400    403
deals:open                   POST   lead          login  400    404    400     400    403
outreach:inbox               GET    -             login  200    200    200     200    403
outreach:needs_checking      GET    -             login  200    200    200     200    403
outreach:inbox_confirm       POST   reply         login  302    404    302     302    403
outreach:check_mark_sent     POST   to_check      login  302    404    302     302    403
outreach:check_resend        POST   to_check      login  302    404    302     302    403
outreach:check_give_up       POST   to_check      login  302    404    302     302    403
outreach:account_resume      POST   account       login  403    403    302     302    403
outreach:linkedin_connect    POST   -             login  302    302    302     302    403
outreach:linkedin_reconnect  POST   linkedin      login  302    404    404     404    403
campaigns:list               GET    -             login  403    403    200     200    403
campaigns:new                GET    -             login  403    403    200     200    403
campaigns:detail             GET    campaign      login  403    403    200     200    403
campaigns:edit               GET    campaign      login  403    403    200     200    403
campaigns:find_leads         POST   campaign      login  403    403    302     302    403
campaigns:status             POST   campaign      login  403    403    302     302    403
campaigns:sheet              POST   campaign      login  403    403    200     200    403
campaigns:sheet_sync         POST   campaign      login  403    403    302     302    403
competitors:list             GET    -             login  403    403    200     200    403
competitors:new              GET    -             login  403    403    200     200    403
competitors:detail           GET    competitor    login  403    403    200     200    403
competitors:edit             GET    competitor    login  403    403    200     200    403
competitors:angle            POST   competitor    login  403    403    200     200    403
competitors:engagers         POST   competitor    login  403    403    200     200    403
reporting:dashboard          GET    -             login  403    403    200     200    403
reporting:export             GET    table         login  403    403    200     200    403
reports:list                 GET    -             login  403    403    200     200    403
reports:detail               GET    report        login  403    403    200     200    403
reports:email                GET    report        login  403    403    200     200    403
reports:resend               POST   report        login  403    403    302     302    403
unsubscribe:unsubscribe      GET    token         200    200    200    200     200    200
webhooks:unipile             POST   -             403    403    403    403     403    403
webhooks:linkedin_notify     POST   link          403    403    403    403     403    403
api:api-root                 GET    -             302    302    302    302     302    302
api:docs                     GET    -             200    200    200    200     200    200
api:openapi-json             GET    -             200    200    200    200     200    200
api:not_found                GET    -             404    404    404    404     404    404
api:leads                    GET    -             401    200    200    200     200    403
api:lead                     GET    lead          401    200    404    200     200    403
api:lead_update              PATCH  lead          401    400    400    400     400    403
api:lead_do_not_contact      POST   lead          401    400    400    400     400    403
api:imports                  POST   -             401    400    400    400     400    403
api:import                   GET    import        401    200    404    200     200    403
api:import_start             POST   import        401    400    400    400     400    403
api:messages                 GET    -             401    200    200    200     200    403
api:message                  GET    draft         401    200    404    200     200    403
api:message_approve          POST   draft         401    400    400    400     400    403
api:message_reject           POST   draft         401    400    400    400     400    403
api:replies                  GET    -             401    200    200    200     200    403
api:campaigns                GET    -             401    403    403    200     200    403
api:campaign_create          POST   -             401    400    400    400     400    403
api:campaign                 GET    campaign      401    403    403    200     200    403
api:campaign_pause           POST   campaign      401    403    403    200     200    403
api:campaign_resume          POST   campaign      401    403    403    409     409    403
api:campaign_search          POST   campaign      401    403    403    202     202    403
api:campaign_search_runs     GET    campaign      401    403    403    200     200    403
api:stats                    GET    -             401    403    403    200     200    403
api:deals                    GET    -             401    200    200    200     200    403
api:deal                     GET    deal          401    200    404    200     200    403
api:deal_open                POST   -             401    400    400    400     400    403
api:deal_move                POST   deal          401    400    400    400     400    403
api:deal_update              PATCH  deal          401    400    400    400     400    403
"""

# A wrong answer found by this matrix: (url name, role) -> what happens. Each stays a strict xfail
# until the view is fixed, so the bug stays visible and the fix turns the suite red until removed.
KNOWN_WRONG: dict[tuple[str, str], str] = {}


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    obj: str
    answers: dict[str, str]


def _parse(table: str) -> dict[str, Row]:
    lines = [line.split() for line in table.strip().splitlines()[1:]]
    rows = {}
    for name, method, obj, *answers in lines:
        assert name not in rows, f"{name} is in the matrix twice"
        assert len(answers) == len(ROLES), f"{name}: one answer per role"
        rows[name] = Row(name, method, obj, dict(zip(ROLES, answers, strict=True)))
    return rows


ROWS = _parse(MATRIX)


def project_urls(patterns=None, prefix: str = "", namespace: str = "") -> dict[str, str]:
    """Every URL pattern of the project: name (with namespaces) -> route, skipping admin, allauth and files."""
    urls = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            urls |= project_urls(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(part for part in (namespace, pattern.name or f"<unnamed {route}>") if part)
            urls[name] = route
    return urls


def test_it_has_a_decision_for_every_url():
    urls = project_urls()
    missing = sorted(f"{name} ({route})" for name, route in urls.items() if name not in ROWS)
    stale = sorted(set(ROWS) - set(urls))
    assert not missing, f"URLs with no decision in the permissions matrix: {missing}"
    assert not stale, f"The matrix names URLs that no longer exist: {stale}"


def test_the_matrix_is_the_size_it_says():
    assert len(ROWS) * len(ROLES) == len(CASES)


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    """Built once for the module (~350 cases), inside a transaction each test's own rolls back to."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_world, db, settings, monkeypatch) -> dict[str, dict]:
    settings.UNIPILE_WEBHOOK_SECRET = "the-right-secret"
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "", ""  # nothing calls out: "Connect LinkedIn" says so
    monkeypatch.setattr("salesdept.views._check_broker", lambda: "ok")  # healthz: no broker in this test
    monkeypatch.setattr("salesdept.views._check_beat", lambda: "ok")
    return _world


def _case(row: Row, role: str):
    marks = []
    if (row.name, role) in KNOWN_WRONG:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[(row.name, role)]))
    return pytest.param(row, role, id=f"{row.name}-{role}", marks=marks)


CASES = [_case(row, role) for row in ROWS.values() for role in ROLES]


def fingerprint() -> tuple:
    """What a request that acts would change: a refused one must leave all of it as it was."""
    return (
        Activity.objects.count(),
        WebhookEvent.objects.count(),
        list(Lead.objects.order_by("pk").values_list("status", "score_override", "owner_id", "label")),
        list(Task.objects.order_by("pk").values_list("status", "drafted_at")),
        list(OutreachMessage.objects.order_by("pk").values_list("status", "revision")),
        list(CampaignRequest.objects.order_by("pk").values_list("status")),
        list(Campaign.objects.order_by("pk").values_list("status")),
        list(DailyReport.objects.order_by("pk").values_list("status", "sent_at")),
        list(Notification.objects.order_by("pk").values_list("read_at")),
        list(ImportJob.objects.order_by("pk").values_list("status")),
        list(SendingAccount.objects.order_by("pk").values_list("health", "is_active")),
        list(ApiToken.objects.order_by("pk").values_list("revoked_at")),
        list(Deal.objects.order_by("pk").values_list("stage_id", "value", "currency", "next_step", "closed_at")),
    )


def body_text(response) -> str:
    """The whole body, a streamed one (the leads CSV) too."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode(errors="replace")


def assert_answer(response, expected: str, where: str, *, may_see: bool = True) -> None:
    """The answer, and no trace of alice's objects in a refusal, or anywhere for those who may not see them."""
    got = response.status_code
    location = response.get("Location", "")
    said = f"{where}: expected {expected}, got {got}{f' to {location}' if location else ''}"
    if expected == "login":
        assert got == 302 and location.startswith("/accounts/login/?next="), said
    elif expected == "302":
        assert got == 302 and not location.startswith("/accounts/login/"), said
    else:
        assert got == int(expected), said
    if got in (403, 404, 405) or not may_see:
        assert SECRET not in body_text(response), f"{where}: shows alice's data"


@pytest.mark.parametrize(("row", "role"), CASES)
def test_it_gives_each_role_its_answer(client, request, world, row: Row, role: str):
    if role != "anon":
        login(client, request.getfixturevalue(USERS[role]))
    url = reverse(row.name, kwargs=world[row.obj])
    before = fingerprint()
    response = {"POST": client.post, "PATCH": client.patch}.get(row.method, client.get)(url)
    if row.answers[role] in ("login", "403", "404", "405"):
        assert fingerprint() == before, f"{row.method} {url} as {role} was refused but changed something"
    assert_answer(
        response, row.answers[role], f"{row.method} {url} as {role}", may_see=role in ("rep", "manager", "admin")
    )


@pytest.mark.parametrize(
    ("url", "narrowing"),
    [
        ("/leads/", "owner"),
        ("/leads/export.csv", "owner"),
        ("/inbox/", "rep"),
        ("/approvals/", "owner"),
        ("/approvals/", "rep"),
        ("/inbox/checking/", "owner"),
        ("/leads/import/", "owner"),
        ("/approvals/requests/", "owner"),
        ("/leads/tasks/", "owner"),
        ("/api/v1/leads", "owner"),
        ("/api/v1/messages", "rep"),
        ("/api/v1/replies", "rep"),
        ("/deals/", "owner"),
        ("/api/v1/deals", "owner"),
    ],
)
def test_another_rep_cannot_filter_their_way_to_alices_work(client, dan, world, url, narrowing):
    """Filters by rep are a manager's: a rep naming alice still sees only their own."""
    response = login(client, dan).get(url, {narrowing: world["alice"]["pk"]})
    assert_answer(response, "200", f"GET {url}?{narrowing}=alice as other", may_see=False)


LISTS = [
    "/leads/",
    "/leads/export.csv",
    "/leads/tasks/",
    "/inbox/",
    "/approvals/",
    "/inbox/checking/",
    "/leads/import/",
    "/approvals/requests/",
    "/notifications/",
    "/api/v1/leads",
    "/api/v1/messages",
    "/api/v1/replies",
    "/deals/",
    "/api/v1/deals",
]


@pytest.mark.parametrize("url", LISTS)
def test_alice_sees_her_own_work_in_each_list(client, alice, world, url):
    """So that the lists' "no trace of alice's data" above are not true only because they are empty."""
    assert SECRET in body_text(login(client, alice).get(url))


def test_another_rep_cannot_bulk_approve_alices_draft(client, dan, world):
    draft = OutreachMessage.objects.get(pk=world["draft"]["pk"])
    item = f"{draft.pk}:{draft.revision}"
    login(client, dan)
    assert_answer(client.post("/approvals/bulk-approve/", {"items": [item]}), "200", "bulk confirm", may_see=False)
    client.post("/approvals/bulk-approve/", {"items": [item], "confirm": "on"})
    draft.refresh_from_db()
    assert draft.status == OutreachMessage.Status.PENDING_APPROVAL


# A POST whose URL also answers GET (the API's list and create share one) is not POST-only.
_ROUTES = project_urls()
_GET_ROUTES = {route for name, route in _ROUTES.items() if name in ROWS and ROWS[name].method == "GET"}
POST_ONLY = [
    pytest.param(row, id=row.name)
    for row in ROWS.values()
    if row.method == "POST" and _ROUTES.get(row.name) not in _GET_ROUTES
]


@pytest.mark.parametrize("row", POST_ONLY)
def test_it_refuses_get_where_only_post_is_allowed(client, carol, world, row: Row):
    """A GET must never act: the admin, who may do everything, gets 405."""
    url = reverse(row.name, kwargs=world[row.obj])
    assert_answer(login(client, carol).get(url), "405", f"GET {url} as admin")


def test_a_manager_cannot_open_another_managers_report(client, bob, carol):
    theirs = DailyReport.objects.create(recipient=carol, date=dt.date(2026, 3, 10), html=f"<p>{SECRET}</p>")
    login(client, bob)
    assert_answer(client.get(f"/reports/{theirs.pk}/"), "404", "a manager opening an admin's report")
    assert_answer(client.post(f"/reports/{theirs.pk}/send/"), "404", "a manager resending an admin's report")


def test_the_webhook_with_the_right_secret_is_accepted(client, settings):
    """The other side of the webhook row: only the secret opens it, no login."""
    settings.UNIPILE_WEBHOOK_SECRET = "the-right-secret"
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "", ""  # nothing calls out: "Connect LinkedIn" says so
    payload = {"event": "message_received", "webhook_name": "x"}
    response = client.post(
        "/webhooks/unipile/", payload, content_type="application/json", HTTP_X_WEBHOOK_SECRET="the-right-secret"
    )
    assert response.status_code == 200
