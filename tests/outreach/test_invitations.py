"""Invitations after they are sent: accepted through polling, withdrawn when stale (sandbox channel)."""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity
from outreach.channels import sandbox
from outreach.invitations import invitation_accepted, invites_withdraw_stale, relations_poll
from outreach.models import OutreachMessage
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status


def invite(campaign, alice, account, *, days_ago: float) -> OutreachMessage:
    return MessageFactory(
        lead=LeadFactory(campaign=campaign, owner=alice),
        account=account,
        status=Status.SENT,
        sent_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_polling_relations_marks_the_accepted_invitations_once(campaign, alice, alice_account, settings):
    settings.SANDBOX_ACCEPT_RATE, settings.SANDBOX_REPLY_DELAY_SECONDS = 0.5, 0
    invites = [invite(campaign, alice, alice_account, days_ago=1) for _ in range(12)]
    expected = {m.pk for m in invites if sandbox.accepts(str(m.idempotency_key))}
    assert 0 < len(expected) < 12  # the seed accepts some and not others
    assert relations_poll(account_id=alice_account.pk, now=timezone.now()) == len(expected)
    assert relations_poll(account_id=alice_account.pk, now=timezone.now()) == 0  # idempotent
    accepted = set(OutreachMessage.objects.filter(accepted_at__isnull=False).values_list("pk", flat=True))
    assert accepted == expected
    assert Activity.objects.filter(verb="invite.accepted").count() == len(expected)


def test_an_acceptance_for_someone_we_never_invited_changes_nothing(alice_account):
    assert invitation_accepted(account=alice_account, provider_id="nobody", at=timezone.now()) is False


def test_stale_invitations_are_withdrawn_and_fresh_ones_kept(campaign, alice, alice_account, settings):
    settings.INVITE_WITHDRAW_AFTER_DAYS, settings.SANDBOX_ACCEPT_RATE = 21, 0.0
    stale = invite(campaign, alice, alice_account, days_ago=22)
    fresh = invite(campaign, alice, alice_account, days_ago=5)
    accepted = invite(campaign, alice, alice_account, days_ago=30)
    OutreachMessage.objects.filter(pk=accepted.pk).update(accepted_at=timezone.now() - dt.timedelta(days=25))
    now = timezone.now()
    assert invites_withdraw_stale(account_id=alice_account.pk, now=now) == 1
    assert invites_withdraw_stale(account_id=alice_account.pk, now=now) == 0
    assert OutreachMessage.objects.get(pk=stale.pk).withdrawn_at == now
    assert OutreachMessage.objects.get(pk=fresh.pk).withdrawn_at is None
    assert OutreachMessage.objects.get(pk=accepted.pk).withdrawn_at is None
    assert Activity.objects.get(verb="invite.withdrawn").payload["days"] == 22
