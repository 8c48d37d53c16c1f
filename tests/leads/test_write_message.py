"""A rep writes their own message to a lead they own: guardrails, opt-out, one click, caps and budget."""

import datetime as dt

import pytest

from leads.models import Activity, Lead
from leads.suppression import suppression_add_for_lead
from outreach.models import OutreachMessage, SendCounter
from outreach.sending import outreach_send_next
from salesdept import clock
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
NOTE = "Hi Lena, I saw your talk on forecasting. Would you speak at the Summit?"


@pytest.fixture
def lead(campaign, alice):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena", email="lena@example.org")


def write(client, lead, **data):
    return client.post(f"/leads/{lead.pk}/write/", {"kind": "connection_note", "body": NOTE, **data})


def test_it_offers_a_write_form_on_the_lead_page(client, alice, lead):
    page = login(client, alice).get(f"/leads/{lead.pk}/")
    assert f'action="/leads/{lead.pk}/write/"' in page.text
    assert "Approve and send" in page.text
    assert '<option value="email">' in page.text  # the sandbox account sends every kind


def test_it_offers_only_the_kinds_the_reps_accounts_send(client, dan, campaign):
    dan.sending_accounts.update(channel="email")
    lead = LeadFactory(campaign=campaign, owner=dan, email="omar@example.org")
    page = login(client, dan).get(f"/leads/{lead.pk}/")
    assert '<option value="email">' in page.text
    assert '<option value="connection_note">' not in page.text
    response = write(client, lead)  # a LinkedIn note asked for anyway
    assert "Select a valid choice" in response.text
    assert not OutreachMessage.objects.filter(lead=lead).exists()


def test_it_sends_a_written_message_within_caps_after_one_click(client, alice, alice_account, lead, settings):
    response = write(login(client, alice), lead)
    assert response.status_code == 302
    assert "goes out in its sending window" in client.get(response.url).text
    message = OutreachMessage.objects.get(lead=lead)
    assert (message.status, message.decided_by, message.generated_by, message.body) == (
        Status.APPROVED,
        alice,
        "rep",
        NOTE,
    )
    assert Activity.objects.filter(verb="message.written", message=message, actor=alice).exists()
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert SendCounter.objects.get(account=alice_account, kind="invite").count == 1
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED


def test_it_waits_for_the_daily_cap(client, alice, alice_account, lead, campaign):
    alice_account.daily_invites = 1
    alice_account.save(update_fields=["daily_invites"])
    day = clock.now().astimezone(alice_account.tz).date()
    SendCounter.objects.create(account=alice_account, kind="invite", day=day, count=1)
    write(login(client, alice), lead)
    assert outreach_send_next(account_id=alice_account.pk) == "cap"
    assert OutreachMessage.objects.get(lead=lead).status == Status.APPROVED


def test_it_holds_a_written_message_to_the_contact_budget(client, alice, alice_account, lead, campaign):
    MessageFactory(
        lead=lead,
        campaign=campaign,
        account=alice_account,
        status=Status.SENT,
        sent_at=clock.now() - dt.timedelta(hours=1),
    )
    write(login(client, alice), lead)
    assert outreach_send_next(account_id=alice_account.pk) == "budget"
    message = OutreachMessage.objects.get(lead=lead, step=0)
    assert message.status == Status.APPROVED
    assert message.not_before > clock.now()


def test_it_blocks_a_banned_phrase_and_keeps_the_text(client, alice, lead):
    text = "Hi Lena, I hope this email finds you well. Would you speak at the Summit?"
    response = write(login(client, alice), lead, body=text)
    assert response.status_code == 200
    assert "banned phrase" in response.text
    assert text in response.text
    assert not OutreachMessage.objects.filter(lead=lead).exists()


def test_it_blocks_a_placeholder_over_htmx(client, alice, lead):
    response = login(client, alice).post(
        f"/leads/{lead.pk}/write/", {"kind": "message", "body": "Hi Lena, about [Company Name]: a call?"}, **HTMX
    )
    assert response.text.lstrip().startswith('<div id="lead-write">')  # the fragment only
    assert "[Company Name]" in response.text and 'role="alert"' in response.text
    assert not OutreachMessage.objects.filter(lead=lead).exists()


@pytest.mark.parametrize("opt_out", ["do_not_contact", "suppressed"])
def test_it_refuses_a_lead_who_opted_out(client, alice, lead, opt_out):
    if opt_out == "do_not_contact":
        Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.DO_NOT_CONTACT)
    else:
        suppression_add_for_lead(lead=lead, reason="Unsubscribed")
    response = write(login(client, alice), lead)
    assert response.status_code == 200
    assert "opted out" in response.text
    assert not OutreachMessage.objects.filter(lead=lead).exists()


def test_it_sends_to_a_lead_in_a_conversation(client, alice, alice_account, lead):
    """The sequence stops at a reply; a rep's own message is how they carry the conversation on."""
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.INTERESTED)
    write(login(client, alice), lead, kind="message", body="Hi Lena, thanks! Does Tuesday at 10 suit you?")
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    assert OutreachMessage.objects.get(lead=lead).status == Status.SENT


def test_it_lets_a_rep_write_twice_to_the_same_lead(client, alice, lead):
    login(client, alice)
    write(client, lead)
    write(client, lead, kind="email", subject="The Summit", body="Hi Lena, a note by email too. Speak at the Summit?")
    assert OutreachMessage.objects.filter(lead=lead, step=0).count() == 2


def test_it_needs_one_of_the_reps_own_accounts(client, alice, alice_account, lead):
    alice_account.is_active = False
    alice_account.save(update_fields=["is_active"])
    page = login(client, alice).get(f"/leads/{lead.pk}/")
    assert "None of your sending accounts can send" in page.text
    response = write(client, lead)
    assert response.status_code == 200
    assert not OutreachMessage.objects.filter(lead=lead).exists()


def test_it_hides_another_reps_lead(client, dan, lead):
    assert write(login(client, dan), lead).status_code == 404
    assert not OutreachMessage.objects.filter(lead=lead).exists()


def test_it_refuses_get(client, alice, lead):
    assert login(client, alice).get(f"/leads/{lead.pk}/write/").status_code == 405


def test_the_followups_do_not_start_from_a_written_message(client, alice, alice_account, lead):
    from outreach.services import followups_draft_due

    write(login(client, alice), lead)
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    assert followups_draft_due(now=clock.now() + dt.timedelta(days=10)) == []


def test_it_offers_a_linkedin_message_first_to_someone_who_already_answered(client, alice, campaign, alice_account):
    """A connection note to a person already in the conversation is never what the rep means."""
    from outreach.models import InboundMessage, OutreachMessage

    lead = LeadFactory(campaign=campaign, owner=alice)
    note = MessageFactory(
        lead=lead, campaign=campaign, account=alice_account, kind="connection_note", status=OutreachMessage.Status.SENT
    )
    InboundMessage.objects.create(
        lead=lead, account=alice_account, in_reply_to=note, provider_id="in-9", text="Hi", received_at=note.created_at
    )
    client.force_login(alice)

    page = client.get(f"/leads/{lead.pk}/").text

    assert '<option value="message" selected>LinkedIn message</option>' in page
