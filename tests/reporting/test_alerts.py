"""Alerts: each condition emails the managers once when it opens, and shows while it lasts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from outreach.models import OutreachMessage, SendingAccount
from reporting.alerts import alerts_check, alerts_open
from reporting.metrics import bump
from reporting.models import Alert
from salesdept.models import LLMCall, Notification
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def told(user) -> list[str]:
    return list(Notification.objects.filter(user=user, text__startswith="Alert:").values_list("text", flat=True))


def test_a_stopped_account_alerts_once_and_clears_when_it_is_back(bob, carol, alice, alice_account):
    SendingAccount.objects.filter(pk=alice_account.pk).update(
        health=SendingAccount.Health.AUTH_ERROR, health_reason="LinkedIn asked to sign in again"
    )

    assert len(alerts_check(now=NOW)) == 1
    assert alerts_check(now=NOW + dt.timedelta(minutes=5)) == []  # still open: nobody is told again

    assert told(bob) == ["Alert: Alice sandbox stopped sending: needs reconnecting (LinkedIn asked to sign in again)."]
    assert len(told(carol)) == 1 and told(alice) == []  # managers and admins, not reps
    SendingAccount.objects.filter(pk=alice_account.pk).update(health=SendingAccount.Health.OK)
    alerts_check(now=NOW + dt.timedelta(minutes=10))
    assert not alerts_open().exists()
    assert Alert.objects.get().resolved_at is not None

    SendingAccount.objects.filter(pk=alice_account.pk).update(health=SendingAccount.Health.PAUSED)
    assert len(alerts_check(now=NOW + dt.timedelta(minutes=15))) == 1  # back again: a new alert
    assert len(told(bob)) == 2


def test_send_errors_above_the_threshold_alert(bob, alice_account, settings):
    today = timezone.localdate(NOW)
    bump(day=today, stage="sent", n=15, account_id=alice_account.pk)
    bump(day=today, stage="send_error", n=1, account_id=alice_account.pk)
    assert alerts_check(now=NOW) == []  # 1 of 16: fine
    bump(day=today, stage="send_error", n=4, account_id=alice_account.pk)

    [alert] = alerts_check(now=NOW)

    assert alert.kind == "error_rate" and alert.key == str(alice_account.pk)
    assert alert.message == "Alice sandbox: 5 of 20 sends failed since yesterday (25%)."


def test_too_few_attempts_never_alert(bob, alice_account):
    bump(day=timezone.localdate(NOW), stage="send_error", n=3, account_id=alice_account.pk)
    assert alerts_check(now=NOW) == []


def test_drafts_waiting_over_a_day_alert(bob, campaign, alice_account):
    message = MessageFactory(lead=LeadFactory(campaign=campaign), campaign=campaign, account=alice_account)
    assert alerts_check(now=NOW) == []
    OutreachMessage.objects.filter(pk=message.pk).update(created_at=NOW - dt.timedelta(days=3, hours=1))

    [alert] = alerts_check(now=NOW)

    assert alert.message == "1 draft waited over a day for approval (the oldest 3 days)."


def test_a_snoozed_leads_old_draft_is_not_late(bob, campaign, alice_account):
    """It is not in the queue (approvals.selectors.WAITING), so nobody is keeping it waiting."""
    from leads.models import Lead

    lead = LeadFactory(campaign=campaign, status=Lead.Status.SNOOZED)
    message = MessageFactory(lead=lead, campaign=campaign, account=alice_account)
    OutreachMessage.objects.filter(pk=message.pk).update(created_at=NOW - dt.timedelta(days=3))
    assert alerts_check(now=NOW) == []


def test_a_model_budget_nearly_spent_alerts(bob, settings):
    settings.LLM_DAILY_BUDGET_USD = 10.0
    LLMCall.objects.create(purpose="draft", model="m", outcome="ok", cost_usd=Decimal("7.5"))
    assert alerts_check(now=timezone.now()) == []
    LLMCall.objects.create(purpose="draft", model="m", outcome="ok", cost_usd=Decimal("1.0"))
    [alert] = alerts_check(now=timezone.now())
    assert alert.kind == "llm_budget" and "$8.50 of today's $10.00" in alert.message


def test_the_dashboard_shows_open_alerts(client, bob, alice_account):
    SendingAccount.objects.filter(pk=alice_account.pk).update(health=SendingAccount.Health.RESTRICTED)
    alerts_check(now=NOW)
    page = login(client, bob).get(reverse("reporting:dashboard")).content.decode()
    assert "A sending account stopped:" in page and "Alice sandbox stopped sending: restricted" in page
