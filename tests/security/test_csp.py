"""Content Security Policy: every page sends it, no template needs an exception, Chromium reports no violation.

The policy (salesdept/settings.py, django-csp) allows scripts and styles from this site only: no
'unsafe-inline', no 'unsafe-eval'. The one exception is the archived report email, an email with
inline styles, served from its own URL with its own sandboxed policy (reporting/report_views.py).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from outreach.models import OutreachMessage
from reporting.models import DailyReport
from reporting.reports import report_build, reports_send_due
from tests.conftest import login
from tests.e2e.conftest import base_url, browser_type_launch_args, sign_in  # noqa: F401 (fixtures)
from tests.reporting.test_reports import DAY, NEXT_MORNING, at, history  # noqa: F401 (the history fixture)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
TEMPLATES = ROOT / "templates"
# Emails are not pages: mail clients ignore <link> stylesheets, so their styles stay inline.
EMAIL_TEMPLATES = {"reporting/report_email.html", "competitors/_report_email.html"}  # mail clients need inline styles
PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user

EXPECTED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}

# What a page must not contain for the policy to hold: code in a <script> without src (a JSON data
# block is not code), style attributes and blocks, event handler attributes, javascript: URLs.
INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=[\"']application/json[\"'])[^>]*>", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "style block": re.compile(r"<style\b", re.I),
    "event handler": re.compile(r"<[a-z][^>]*\s(on[a-z]+|hx-on[:a-z-]*)\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def inline_code(markup: str) -> list[str]:
    return [f"{what}: {m.group(0)[:120]}" for what, pattern in INLINE.items() for m in pattern.finditer(markup)]


# Every page and its owner; anonymous pages have None. Placeholders are filled from the fixtures.
PAGES = [
    ("/accounts/login/", None, 200),
    ("/accounts/password/reset/", None, 200),
    ("/u/not-a-token/", None, 404),
    ("/approvals/", "alice", 200),
    ("/approvals/{message}/", "alice", 200),
    ("/approvals/requests/", "alice", 200),
    ("/leads/", "alice", 200),
    ("/leads/{lead}/", "alice", 200),
    ("/leads/import/", "alice", 200),
    ("/inbox/", "alice", 200),
    ("/inbox/checking/", "alice", 200),
    ("/notifications/", "alice", 200),
    ("/campaigns/", "bob", 200),
    ("/campaigns/new/", "bob", 200),
    ("/campaigns/{campaign}/", "bob", 200),
    ("/campaigns/{campaign}/edit/", "bob", 200),
    ("/dashboard/", "bob", 200),
    ("/reports/", "bob", 200),
    ("/reports/{report}/", "bob", 200),
    ("/dashboard/", "alice", 403),
    ("/no-such-page/", "alice", 404),
    ("/admin/", "carol", 200),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "who", "status"), PAGES)
def test_every_page_sends_the_policy_and_needs_no_inline_code(client, request, pending, bob, carol, url, who, status):
    report = report_build(recipient=bob, day=DAY)
    url = url.format(message=pending.pk, lead=pending.lead.pk, campaign=pending.campaign.pk, report=report.pk)
    if who:
        login(client, request.getfixturevalue(who))
    response = client.get(url)
    assert response.status_code == status
    assert policy(response) == EXPECTED
    for directive in ("script-src", "style-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"} & set(policy(response)[directive])
    if not url.startswith("/admin/"):  # Django's admin is not ours; it too runs under the policy
        assert inline_code(response.text) == []


@pytest.mark.django_db
def test_htmx_fragments_carry_the_policy_too(client, alice, pending):
    response = login(client, alice).get("/approvals/count/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert policy(response) == EXPECTED


@pytest.mark.django_db
def test_the_archived_email_has_its_own_sandboxed_policy(client, bob, history):  # noqa: F811
    report = report_build(recipient=bob, day=DAY)
    response = login(client, bob).get(f"/reports/{report.pk}/email/")
    assert response.status_code == 200 and response.content.decode() == report.html
    email = policy(response)
    assert email["default-src"] == ["'none'"]  # no scripts, fetches, fonts or frames
    assert email["style-src"] == ["'unsafe-inline'"] and "script-src" not in email
    assert email["sandbox"] == ["allow-popups", "allow-popups-to-escape-sandbox"]  # no allow-scripts
    assert email["frame-ancestors"] == ["'self'"] and response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]


def test_the_settings_hold_no_unsafe_source():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert {name: list(values) for name, values in directives.items()} == EXPECTED
    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE
    assert not hasattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY")  # enforced, not report-only


def test_no_page_template_has_inline_code():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in EMAIL_TEMPLATES:
            continue
        if problems := inline_code(path.read_text()):
            found[name] = problems
    assert found == {}


def test_the_scan_finds_what_it_looks_for():
    bad = """<script>alert(1)</script><div style="color:red"><style>p{}</style>
             <button onclick="x()" hx-on:click="y()"><a href="javascript:void(0)">"""
    assert {problem.split(":")[0] for problem in inline_code(bad)} == {
        "inline script",
        "style attribute",
        "style block",
        "event handler",
        "javascript",
    }
    good = '<script src="/static/x.js" defer></script><script id="d" type="application/json">{}</script>'
    assert inline_code(good) == []


# In Chromium ----------------------------------------------------------------------------------------

# Recorded in every document the page opens, before its own scripts (Playwright's init script is not
# subject to the page's policy). A sandboxed frame runs no script: its violations reach the console.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "response",
        lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 500 else None,
    )
    return problems


def violations(page: Page) -> list[str]:
    return page.evaluate("() => window.__cspViolations || []")


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_chromium_reports_no_violation_on_the_queue_dashboard_and_archive(page: Page, pending, bob, history):  # noqa: F811
    problems = watch(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The queue, and a decision swapped in by htmx.
    sign_in(page, email=pending.lead.owner.email, password=PASSWORD)
    item = page.locator(f"#queue-list [data-item]#{page.locator('#queue-list [data-item]').first.get_attribute('id')}")
    expect(item).to_be_visible()
    item.get_by_role("button", name="Approve").click()
    expect(item.get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    assert OutreachMessage.objects.get(pk=pending.pk).status != OutreachMessage.Status.PENDING_APPROVAL
    assert violations(page) == []

    # The dashboard: Chart.js draws (it sizes its canvas through the CSSOM, which the policy allows),
    # and draws again after an htmx swap.
    page.context.clear_cookies()
    sign_in(page, email=bob.email, password=PASSWORD)
    page.goto("/dashboard/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('trend-chart'))")
    painted = """(c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    }"""
    assert page.locator("#trend-chart").evaluate(painted) > 2000
    page.get_by_label("Trend").select_option("7")
    page.wait_for_function("() => Chart.getChart(document.getElementById('trend-chart'))?.data.labels.length === 7")
    assert violations(page) == []

    # The report archive: the email in its frame, with its inline styles applied.
    with at(NEXT_MORNING):
        reports_send_due(now=NEXT_MORNING)
    report = DailyReport.objects.get(recipient=bob)
    page.goto(f"/reports/{report.pk}/")
    frame = page.frame_locator("iframe.report-frame")
    expect(frame.get_by_role("heading", name="Insights")).to_be_visible()
    heading = frame.get_by_role("heading", name=f"Sales report for {DAY:%Y-%m-%d}")
    expect(heading).to_be_visible()
    bars = frame.locator("td[width]").evaluate_all(
        "(cells) => cells.filter((td) => getComputedStyle(td).backgroundColor === 'rgb(37, 99, 235)').length"
    )
    assert bars >= 2  # the funnel's bars: the email's inline styles apply in its frame
    page.set_viewport_size({"width": 1100, "height": 1500})  # Chromium paints a frame only where it is seen
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report_archive_csp.png", full_page=True)
    assert violations(page) == []
    assert problems == []

    # The watch works: an inline style set now is blocked, and seen.
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert violations(page)[0].startswith("style-src-attr blocked inline")
