"""Needs checking: a person says what happened to a send nobody is sure about, once."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.services import DecisionError
from leads.models import Activity, Lead
from outreach.models import OutreachMessage, SendingAccount
from outreach.reconcile import RECONCILE_VERBS, message_give_up, message_mark_sent, message_resend
from salesdept.roles import REP
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
Status = OutreachMessage.Status
CHECKING = "/inbox/checking/"


def to_check(campaign, owner, account, status=Status.UNKNOWN, **fields) -> OutreachMessage:
    lead = LeadFactory(campaign=campaign, owner=owner, **fields.pop("lead", {}))
    defaults = {"last_error": "The send did not finish; check the conversation before sending again."}
    return MessageFactory(
        lead=lead,
        account=account,
        status=status,
        sending_started_at=timezone.now(),
        attempts=1,
        **(defaults | fields),
    )


@pytest.fixture
def unknown(campaign, alice, alice_account) -> OutreachMessage:
    return to_check(campaign, alice, alice_account, lead={"first_name": "Lena"}, provider_message_id="<k@alice.test>")


@pytest.fixture
def failed(campaign, alice, alice_account) -> OutreachMessage:
    return to_check(campaign, alice, alice_account, Status.FAILED, last_error="fatal: recipient blocked us")


@pytest.fixture
def dans_unknown(campaign, dan, dan_account) -> OutreachMessage:
    return to_check(campaign, dan, dan_account, lead={"first_name": "Omar"})


def status_of(message) -> str:
    return OutreachMessage.objects.get(pk=message.pk).status


# The page -----------------------------------------------------------------------------------------


def test_it_lists_a_reps_unknown_and_failed_sends(client, alice, unknown, failed, dans_unknown):
    response = login(client, alice).get(CHECKING)
    assert response.status_code == 200
    assert f'id="check-{unknown.pk}"' in response.text
    assert f'id="check-{failed.pk}"' in response.text
    assert f'id="check-{dans_unknown.pk}"' not in response.text
    assert "fatal: recipient blocked us" in response.text
    assert unknown.body in response.text
    assert "Alice sandbox" in response.text
    assert "provider id <code>&lt;k@alice.test&gt;</code>" in response.text
    assert "Outcome unknown" in response.text
    assert "It was not sent: send again" in response.text


def test_it_shows_a_manager_everyones_sends(client, bob, unknown, dans_unknown):
    response = login(client, bob).get(CHECKING)
    assert f'id="check-{unknown.pk}"' in response.text
    assert f'id="check-{dans_unknown.pk}"' in response.text


def test_it_tells_how_to_check_an_email_by_its_message_id(client, alice, campaign, alice_account):
    email = to_check(campaign, alice, alice_account, kind="email", subject="The Summit", provider_message_id="<m1@x>")
    response = login(client, alice).get(CHECKING)
    assert "Sent folder" in response.text
    assert "Message-ID <code>&lt;m1@x&gt;</code>" in response.text
    assert f'id="check-{email.pk}"' in response.text


def test_it_offers_only_give_up_for_a_failed_send(client, alice, failed):
    response = login(client, alice).get(CHECKING)
    assert f"/inbox/checking/{failed.pk}/give-up/" in response.text
    assert f"/inbox/checking/{failed.pk}/sent/" not in response.text


def test_it_shows_the_unknown_count_in_the_navigation(client, alice, unknown, failed, dans_unknown):
    response = login(client, alice).get("/leads/")
    assert 'href="/inbox/checking/"' in response.text
    assert ">1 to check</a>" in response.text


def test_it_shows_no_count_when_nothing_is_unknown(client, alice, failed):
    response = login(client, alice).get("/leads/")
    assert '<span id="unknown-count" hidden></span>' in response.text


def test_it_renders_the_list_alone_for_htmx(client, alice, unknown):
    response = login(client, alice).get(CHECKING, **HTMX)
    assert "<html" not in response.text
    assert 'id="check-list"' in response.text


def test_it_needs_a_login(client, unknown):
    response = client.get(CHECKING)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={CHECKING}"
    assert client.post(f"{CHECKING}{unknown.pk}/sent/").status_code == 302
    assert status_of(unknown) == Status.UNKNOWN


def test_it_is_closed_to_users_without_a_role(client, mallory, unknown):
    assert login(client, mallory).get(CHECKING).status_code == 403
    assert client.post(f"{CHECKING}{unknown.pk}/give-up/").status_code == 403


def test_it_refuses_a_get_on_an_action(client, alice, unknown):
    assert login(client, alice).get(f"{CHECKING}{unknown.pk}/sent/").status_code == 405


def test_its_query_count_does_not_grow_with_the_items(client, bob, campaign, alice, alice_account, dan, dan_account):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHECKING).status_code == 200
        return len(queries)

    login(client, bob)
    for n in range(3):
        to_check(campaign, alice if n % 2 else dan, alice_account if n % 2 else dan_account)
    few = count()
    for n in range(17):
        to_check(campaign, alice if n % 2 else dan, alice_account, Status.FAILED if n % 3 else Status.UNKNOWN)
    assert count() == few


# The decisions ------------------------------------------------------------------------------------


def test_it_marks_a_send_as_sent(client, alice, unknown):
    response = login(client, alice).post(f"{CHECKING}{unknown.pk}/sent/")
    assert response.status_code == 302
    assert response.url == CHECKING
    message = OutreachMessage.objects.get(pk=unknown.pk)
    assert message.status == Status.SENT
    assert message.sent_at is not None
    assert Lead.objects.get(pk=unknown.lead_id).status == Lead.Status.CONTACTED
    assert Activity.objects.filter(verb="message.marked_sent", message=unknown, actor=alice).count() == 1
    assert "Marked as sent" in client.get(response.url).text


def test_it_keeps_a_known_sent_time(alice, unknown):
    earlier = timezone.now() - timezone.timedelta(hours=3)
    OutreachMessage.objects.filter(pk=unknown.pk).update(sent_at=earlier)
    assert message_mark_sent(message=unknown, actor=alice).sent_at == earlier


def test_it_approves_a_send_again(client, alice, unknown, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(client, alice).post(f"{CHECKING}{unknown.pk}/resend/")
    assert response.status_code == 302
    message = OutreachMessage.objects.get(pk=unknown.pk)
    assert message.status == Status.APPROVED
    assert message.not_before <= timezone.now()
    assert message.decided_by == alice
    assert message.idempotency_key == unknown.idempotency_key  # the provider can still spot a duplicate
    assert Activity.objects.filter(verb="message.resend_approved", message=unknown, actor=alice).count() == 1
    assert len(callbacks) == 1  # the account is asked to send


def test_it_gives_up_an_unknown_and_a_failed_send(client, alice, unknown, failed):
    login(client, alice)
    for message in (unknown, failed):
        assert client.post(f"{CHECKING}{message.pk}/give-up/").status_code == 302
        assert status_of(message) == Status.CANCELLED
        assert Activity.objects.filter(verb="message.given_up", message=message, actor=alice).count() == 1


def test_it_swaps_the_decided_message_for_htmx(client, alice, unknown):
    response = login(client, alice).post(f"{CHECKING}{unknown.pk}/sent/", **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'<article id="check-{unknown.pk}"' in response.text
    assert "Marked as sent" in response.text
    assert "It was sent</button>" not in response.text
    assert '<span id="unknown-count" hidden hx-swap-oob="true"></span>' in response.text


def test_a_second_person_is_told_someone_decided_first(client, alice, bob, unknown):
    login(client, bob).post(f"{CHECKING}{unknown.pk}/give-up/")
    response = login(client, alice).post(f"{CHECKING}{unknown.pk}/resend/", **HTMX)
    assert response.status_code == 200
    assert "Bob already decided at" in response.text
    assert "the message is cancelled. Nothing was done." in response.text
    assert status_of(unknown) == Status.CANCELLED
    assert not Activity.objects.filter(verb="message.resend_approved").exists()


@pytest.mark.parametrize("act", [message_mark_sent, message_resend, message_give_up])
def test_only_one_of_two_decisions_wins(alice, bob, unknown, act):
    stale = OutreachMessage.objects.get(pk=unknown.pk)  # what the second person's page showed
    message_mark_sent(message=unknown, actor=bob)
    with pytest.raises(DecisionError, match="already decided"):
        act(message=stale, actor=alice)
    assert status_of(unknown) == Status.SENT
    assert Activity.objects.filter(verb__in=RECONCILE_VERBS).count() == 1


def test_a_rep_cannot_see_or_decide_another_reps_message(client, alice, dans_unknown):
    login(client, alice)
    for action in ("sent", "resend", "give-up"):
        assert client.post(f"{CHECKING}{dans_unknown.pk}/{action}/").status_code == 404
    assert status_of(dans_unknown) == Status.UNKNOWN
    assert not Activity.objects.filter(message=dans_unknown).exists()


def test_a_do_not_contact_lead_is_not_sent_again(client, alice, unknown):
    Lead.objects.filter(pk=unknown.lead_id).update(status=Lead.Status.DO_NOT_CONTACT)
    response = login(client, alice).post(f"{CHECKING}{unknown.pk}/resend/", follow=True)
    assert "marked do-not-contact" in response.text
    assert status_of(unknown) == Status.UNKNOWN


def test_resending_needs_the_approve_permission(alice, unknown):
    Group.objects.get(name=REP).permissions.filter(codename="approve_outreachmessage").delete()
    alice = type(alice).objects.get(pk=alice.pk)  # permissions are cached on the user
    with pytest.raises(DecisionError, match="cannot approve"):
        message_resend(message=unknown, actor=alice)
    assert status_of(unknown) == Status.UNKNOWN


def test_a_sent_message_cannot_be_given_up(alice, campaign, alice_account):
    sent = to_check(campaign, alice, alice_account, Status.SENT)
    with pytest.raises(DecisionError, match="is sent now"):
        message_give_up(message=sent, actor=alice)


# Accounts that cannot send ------------------------------------------------------------------------


@pytest.fixture
def paused_account(dan) -> SendingAccount:
    return SendingAccountFactory(
        owner=dan, name="Dan LinkedIn", health=SendingAccount.Health.AUTH_ERROR, health_reason="Session expired"
    )


def test_it_lists_stopped_accounts_for_a_manager(client, bob, paused_account):
    response = login(client, bob).get(CHECKING)
    assert 'id="stopped-accounts"' in response.text
    assert "Dan LinkedIn" in response.text
    assert f"/inbox/checking/accounts/{paused_account.pk}/resume/" in response.text


def test_it_hides_the_accounts_section_from_reps(client, dan, paused_account):
    assert 'id="stopped-accounts"' not in login(client, dan).get(CHECKING).text


def test_a_manager_resumes_sending(client, bob, paused_account):
    response = login(client, bob).post(f"{CHECKING}accounts/{paused_account.pk}/resume/", follow=True)
    assert "Sending from Dan LinkedIn resumed." in response.text
    paused_account.refresh_from_db()
    assert paused_account.health == SendingAccount.Health.OK
    assert Activity.objects.filter(verb="account.resumed", payload__account=paused_account.pk).count() == 1
    again = client.post(f"{CHECKING}accounts/{paused_account.pk}/resume/", follow=True)
    assert "already sending" in again.text


def test_a_rep_cannot_resume_sending(client, dan, paused_account):
    assert login(client, dan).post(f"{CHECKING}accounts/{paused_account.pk}/resume/").status_code == 403
    paused_account.refresh_from_db()
    assert paused_account.health == SendingAccount.Health.AUTH_ERROR


def test_the_inbox_links_to_needs_checking_even_when_only_failed_sends_wait(client, alice):
    client.force_login(alice)
    response = client.get("/inbox/")
    assert 'href="/inbox/checking/"' in response.text
