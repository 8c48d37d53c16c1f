"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server, offline."""

import os

import pytest
from playwright.sync_api import Page

from outreach.models import OutreachMessage
from tests.factories import LeadFactory, MessageFactory

# Playwright's sync API runs an event loop in the test thread, so Django would refuse ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser (`playwright install` needs the internet)."""
    return {
        **browser_type_launch_args,
        "headless": True,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Pages open relative to the live server: `page.goto("/approvals/")`."""
    return live_server.url


@pytest.fixture
def browser_problems(page: Page) -> list[str]:
    """What went wrong in the page: CSP violations, uncaught errors, server errors. Tests assert it stays empty."""
    problems: list[str] = []
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


def sign_in(page: Page, *, email: str, password: str) -> None:
    """Through the real allauth form: the queue sends an anonymous visitor there, and back after."""
    page.goto("/approvals/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/approvals/")


def queue_drafts(campaign, owner, account, scores) -> list[OutreachMessage]:
    """Drafts in queue order: the best score first."""
    return [
        MessageFactory(
            lead=LeadFactory(campaign=campaign, owner=owner, score=score), campaign=campaign, account=account
        )
        for score in scores
    ]


def status_of(message: OutreachMessage) -> str:
    message.refresh_from_db()
    return message.status
