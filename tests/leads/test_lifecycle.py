"""The lead lifecycle: every move in the table is allowed, every other is refused, and the code's
real paths (qualify, send, reply, meeting, snooze, opt-out, erase) keep to it."""

import datetime as dt
from pathlib import Path

import pytest
from django.db.models import Q

from leads import lifecycle
from leads.lifecycle import MOVES, STATES, TransitionRefused, Trigger, lead_transition, leads_transition
from leads.models import Activity, Lead
from leads.privacy import lead_erase
from leads.services import (
    lead_book_meeting,
    lead_close,
    lead_set_do_not_contact,
    lead_snooze,
    leads_qualify,
    leads_wake_snoozed,
)
from outreach.channels.base import InboundItem, SendResult
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_confirm, inbound_record
from outreach.sending import outreach_record_result
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db

S = Lead.Status
NOW = dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.UTC)
TODAY = NOW.date()

ALLOWED = [(move.trigger, start, move.to) for move in MOVES for start in sorted(move.sources)]
FORBIDDEN = [(move.trigger, start, move.to) for move in MOVES for start in S.values if start not in move.sources]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def _status(lead: Lead) -> str:
    return Lead.objects.values_list("status", flat=True).get(pk=lead.pk)


def _moves(lead: Lead) -> list[tuple[str, str, str]]:
    rows = Activity.objects.filter(lead=lead, payload__has_key="trigger").order_by("pk")
    return [(a.payload["from"], a.payload["to"], a.payload["trigger"]) for a in rows]


# The table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("trigger", "start", "to"), ALLOWED)
def test_it_makes_every_move_the_table_allows(trigger, start, to, alice):
    lead = LeadFactory(status=start)
    assert lead_transition(lead=lead, to=to, trigger=trigger, actor=alice, reason="why", now=NOW) is True
    assert _status(lead) == to == lead.status
    activity = Activity.objects.get(lead=lead)
    assert activity.verb == lifecycle.move_for(trigger=trigger, to=to).verb
    assert activity.actor == alice
    assert activity.payload == {"from": start, "to": to, "trigger": trigger, "reason": "why"}
    assert Lead.objects.get(pk=lead.pk).updated_at == NOW


@pytest.mark.parametrize(("trigger", "start", "to"), FORBIDDEN)
def test_it_refuses_every_move_the_table_does_not_allow(trigger, start, to):
    lead = LeadFactory(status=start)
    assert lead_transition(lead=lead, to=to, trigger=trigger, now=NOW) is False
    assert _status(lead) == start
    assert not Activity.objects.filter(lead=lead).exists()


def test_it_moves_nothing_out_of_do_not_contact():
    assert all(S.DO_NOT_CONTACT not in move.sources for move in MOVES)
    for to in S.values:
        for trigger in Trigger.values:
            if (trigger, to) in {(move.trigger, move.to) for move in MOVES}:
                lead = LeadFactory(status=S.DO_NOT_CONTACT)
                assert not lead_transition(lead=lead, to=to, trigger=trigger, now=NOW)
                assert _status(lead) == S.DO_NOT_CONTACT


def test_it_reaches_do_not_contact_from_every_other_state():
    opt_out = lifecycle.sources(trigger=Trigger.OPT_OUT, to=S.DO_NOT_CONTACT)
    assert opt_out == set(S.values) - {S.DO_NOT_CONTACT}


def test_it_never_lets_a_reply_move_a_lead_back_from_interest_or_a_close():
    reply_triggers = {Trigger.REPLY_RECEIVED, *lifecycle.REPLY_TRIGGER.values(), Trigger.REPLY_AWAY}
    for move in MOVES:
        if move.trigger in reply_triggers:
            assert not move.sources & {S.INTERESTED, S.MEETING, S.WON, S.LOST, S.DO_NOT_CONTACT}, move


def test_it_closes_won_and_lost_except_to_do_not_contact():
    for move in MOVES:
        if move.sources & {S.WON, S.LOST}:
            assert move.to == S.DO_NOT_CONTACT, move


def test_it_refuses_a_move_no_trigger_makes_as_a_bug():
    with pytest.raises(ValueError, match="reply received never moves a lead to meeting"):
        lead_transition(lead=LeadFactory(status=S.CONTACTED), to=S.MEETING, trigger=Trigger.REPLY_RECEIVED)


def test_it_explains_a_refusal_when_asked_to():
    lead = LeadFactory(status=S.WON, first_name="Ada", last_name="Byron")
    with pytest.raises(TransitionRefused) as refused:
        lead_transition(lead=lead, to=S.MEETING, trigger=Trigger.REP_BOOKS_MEETING, strict=True)
    assert str(refused.value) == (
        "Ada Byron is at “won”: rep books meeting moves a lead to “meeting” only from contacted, replied, "
        "interested or snoozed."
    )
    dnc = LeadFactory(status=S.DO_NOT_CONTACT, first_name="Bo", last_name="Ek")
    with pytest.raises(TransitionRefused, match="Bo Ek is do-not-contact: nothing changes that."):
        lead_transition(lead=dnc, to=S.MEETING, trigger=Trigger.REP_BOOKS_MEETING, strict=True)


def test_it_moves_from_the_state_the_database_holds_when_the_copy_is_stale():
    lead = LeadFactory(status=S.CONTACTED)
    Lead.objects.filter(pk=lead.pk).update(status=S.REPLIED)
    assert lead_transition(lead=lead, to=S.INTERESTED, trigger=Trigger.REPLY_INTERESTED, now=NOW)
    assert _moves(lead) == [(S.REPLIED, S.INTERESTED, Trigger.REPLY_INTERESTED)]


def test_it_refuses_on_a_stale_copy_and_tells_the_caller_the_real_state():
    lead = LeadFactory(status=S.CONTACTED)
    Lead.objects.filter(pk=lead.pk).update(status=S.MEETING)
    assert not lead_transition(lead=lead, to=S.REPLIED, trigger=Trigger.REPLY_RECEIVED, now=NOW)
    assert lead.status == S.MEETING


def test_it_moves_many_leads_with_one_activity_each_in_a_few_queries(django_assert_max_num_queries):
    for size in (3, 30):
        leads = [LeadFactory(status=S.SNOOZED, snoozed_until=TODAY) for _ in range(size)]
        later = TODAY + dt.timedelta(days=30)
        others = [LeadFactory(status=S.CONTACTED), LeadFactory(status=S.SNOOZED, snoozed_until=later)]
        ids = [lead.pk for lead in leads + others]
        with django_assert_max_num_queries(4):
            moved = leads_transition(
                lead_ids=ids,
                to=S.QUALIFIED,
                trigger=Trigger.SNOOZE_WAKES,
                guard=Q(snoozed_until__lte=TODAY),
                now=NOW,
                snoozed_until=None,
            )
        assert sorted(moved) == sorted(lead.pk for lead in leads)
        assert Activity.objects.filter(lead_id__in=ids, verb="lead.woken").count() == size
        assert {_status(lead) for lead in others} == {S.CONTACTED, S.SNOOZED}


def test_its_tables_are_the_ones_in_its_docstring_and_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    moves, states = lifecycle.lifecycle_tables().split("\n\n")
    for table in (moves, states):
        assert table in lifecycle.__doc__
        assert table in readme


def test_its_stop_sets_are_the_columns_of_the_state_table():
    assert set(STATES) == set(S.values)
    assert {
        S.NEW,
        S.DISQUALIFIED,
        S.REPLIED,
        S.INTERESTED,
        S.MEETING,
        S.WON,
        S.LOST,
        S.DO_NOT_CONTACT,
        S.SNOOZED,
    } == lifecycle.SEQUENCE_STOPPED
    assert {S.DO_NOT_CONTACT} == lifecycle.ANSWERS_STOPPED
    assert {S.QUALIFIED, S.CONTACTED, S.REPLIED, S.INTERESTED, S.MEETING, S.SNOOZED} == lifecycle.WORKED


# The real paths -------------------------------------------------------------------------------


def _sent(lead: Lead, account) -> OutreachMessage:
    return MessageFactory(lead=lead, account=account, status=OutreachMessage.Status.SENT, sent_at=NOW)


def _reply(message: OutreachMessage, text: str, n: int = 1) -> InboundItem:
    return InboundItem(
        provider_id=f"reply-{message.pk}-{n}",
        sender_provider_id=message.lead.provider_id,
        text=text,
        received_at=NOW,
        in_reply_to_key=str(message.idempotency_key),
    )


def _answer(lead: Lead, account, text: str, n: int = 1) -> InboundMessage:
    """A reply to the last message sent to `lead`, recorded and analysed as the workers would."""
    message = _sent(lead, account)
    assert inbound_record(account=account, item=_reply(message, text, n))
    inbound = InboundMessage.objects.get(provider_id=f"reply-{message.pk}-{n}")
    inbound_analyse(inbound_id=inbound.pk)
    return inbound


def test_it_qualifies_a_new_lead_from_new(campaign):
    lead = LeadFactory(campaign=campaign, status=S.NEW)
    assert leads_qualify(lead_ids=[lead.pk]) == [lead]
    assert _status(lead) in (S.QUALIFIED, S.DISQUALIFIED)
    assert _moves(lead) == [(S.NEW, _status(lead), Trigger.QUALIFICATION)]
    assert "score" in Activity.objects.get(lead=lead, verb__startswith="lead.").payload


def test_it_makes_a_qualified_lead_contacted_on_the_first_send_only(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.QUALIFIED)
    first = MessageFactory(lead=lead, account=alice_account, status=OutreachMessage.Status.SENDING)
    assert outreach_record_result(message=first, result=SendResult(provider_message_id="m1"), now=NOW) == "sent"
    assert _status(lead) == S.CONTACTED
    second = MessageFactory(lead=lead, account=alice_account, step=2, status=OutreachMessage.Status.SENDING)
    outreach_record_result(message=second, result=SendResult(provider_message_id="m2"), now=NOW)
    assert _moves(lead) == [(S.QUALIFIED, S.CONTACTED, Trigger.FIRST_SEND)]


@pytest.mark.parametrize("closed", [S.WON, S.LOST])
def test_it_keeps_a_closed_lead_closed_when_an_answer_is_sent(closed, campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=closed)
    answer = MessageFactory(lead=lead, account=alice_account, status=OutreachMessage.Status.SENDING)
    outreach_record_result(message=answer, result=SendResult(provider_message_id="m1"), now=NOW)
    assert _status(lead) == closed
    assert not lead_transition(lead=lead, to=S.CONTACTED, trigger=Trigger.FIRST_SEND, now=NOW)


def test_it_makes_a_contacted_lead_replied_then_interested(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.CONTACTED)
    inbound = _answer(lead, alice_account, "Sounds good, happy to chat next week.")
    assert _status(lead) == S.REPLIED  # the offline reader is unsure of "sounds good": alice confirms it
    inbound_confirm(inbound=InboundMessage.objects.get(pk=inbound.pk), actor=alice, intent="interested")
    assert _status(lead) == S.INTERESTED
    assert _moves(lead) == [
        (S.CONTACTED, S.REPLIED, Trigger.REPLY_RECEIVED),
        (S.REPLIED, S.INTERESTED, Trigger.REPLY_INTERESTED),
    ]


def test_it_keeps_a_booked_meeting_when_the_lead_replies_see_you_tuesday(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.CONTACTED)
    assert lead_book_meeting(lead=lead, actor=alice)
    follow_up = MessageFactory(lead=lead, account=alice_account, step=2, status=OutreachMessage.Status.APPROVED)

    inbound = _answer(lead, alice_account, "See you Tuesday!")

    assert _status(lead) == S.MEETING
    assert Activity.objects.filter(lead=lead, verb="reply.received", payload__inbound=inbound.pk).exists()
    follow_up.refresh_from_db()
    assert follow_up.status == OutreachMessage.Status.CANCELLED  # the sequence still stops
    assert _moves(lead) == [(S.CONTACTED, S.MEETING, Trigger.REP_BOOKS_MEETING)]


@pytest.mark.parametrize("text", ["Sounds great, see you then", "Not now, try again in June.", "No thanks"])
def test_it_keeps_a_meeting_whatever_a_reply_says(text, campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.MEETING)
    _answer(lead, alice_account, text)
    assert _status(lead) == S.MEETING
    assert _moves(lead) == []


def test_it_keeps_an_interested_lead_interested_when_they_write_again(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.INTERESTED)
    _answer(lead, alice_account, "Thanks, one more thing.")
    assert _status(lead) == S.INTERESTED
    assert InboundMessage.objects.filter(lead=lead).count() == 1


def test_it_keeps_do_not_contact_when_they_reply(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.DO_NOT_CONTACT)
    _answer(lead, alice_account, "Sounds good, happy to chat")
    assert _status(lead) == S.DO_NOT_CONTACT


def test_it_lets_a_rep_book_a_meeting_from_a_conversation_and_says_why_not_otherwise(client, alice, campaign):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.REPLIED)
    login(client, alice)
    client.post(f"/leads/{lead.pk}/meeting/")
    assert _status(lead) == S.MEETING

    dnc = LeadFactory(campaign=campaign, owner=alice, status=S.DO_NOT_CONTACT)
    response = client.post(f"/leads/{dnc.pk}/meeting/", follow=True)
    assert response.status_code == 200
    assert "is do-not-contact: nothing changes that." in response.text
    assert _status(dnc) == S.DO_NOT_CONTACT


def test_it_snoozes_and_wakes_a_lead_to_where_it_was(campaign, alice, alice_account):
    contacted = LeadFactory(campaign=campaign, owner=alice, status=S.CONTACTED)
    _sent(contacted, alice_account)
    qualified = LeadFactory(campaign=campaign, owner=alice, status=S.QUALIFIED)
    until = TODAY + dt.timedelta(days=14)
    assert lead_snooze(lead=contacted, actor=alice, until=until)
    assert lead_snooze(lead=qualified, actor=alice, until=until)
    assert Activity.objects.get(lead=contacted, verb="lead.snoozed").payload["until"] == until.isoformat()

    assert leads_wake_snoozed(today=until - dt.timedelta(days=1)) == 0
    assert leads_wake_snoozed(today=until) == 2

    assert (_status(contacted), _status(qualified)) == (S.CONTACTED, S.QUALIFIED)
    assert Lead.objects.get(pk=contacted.pk).snoozed_until is None
    assert _moves(contacted)[-1] == (S.SNOOZED, S.CONTACTED, Trigger.SNOOZE_WAKES)


def test_it_does_not_let_a_rep_snooze_a_lead_not_yet_qualified(alice):
    lead = LeadFactory(status=S.NEW)
    assert not lead_snooze(lead=lead, actor=alice, until=TODAY + dt.timedelta(days=3))
    assert _status(lead) == S.NEW


@pytest.mark.parametrize("start", sorted(set(S.values) - {S.DO_NOT_CONTACT}))
def test_it_opts_out_a_lead_from_every_state(start, alice):
    lead = LeadFactory(status=start)
    assert lead_set_do_not_contact(lead=lead, actor=alice, reason="Asked by phone")
    assert _status(lead) == S.DO_NOT_CONTACT
    activity = Activity.objects.get(lead=lead, verb="lead.do_not_contact")
    assert activity.payload["reason"] == "Asked by phone" and activity.payload["from"] == start


def test_it_opts_out_once(alice):
    lead = LeadFactory(status=S.DO_NOT_CONTACT)
    assert not lead_set_do_not_contact(lead=lead, actor=alice, reason="Again")
    assert not Activity.objects.filter(lead=lead).exists()


def test_it_erases_a_lead_to_do_not_contact(bob):
    lead = LeadFactory(status=S.CONTACTED)
    lead_erase(lead=lead, actor=bob, reason="Asked by email")
    assert _status(lead) == S.DO_NOT_CONTACT
    assert _moves(lead) == [(S.CONTACTED, S.DO_NOT_CONTACT, Trigger.ERASE)]


def test_it_keeps_an_erased_do_not_contact_lead_do_not_contact(bob):
    lead = LeadFactory(status=S.DO_NOT_CONTACT)
    lead_erase(lead=lead, actor=bob, reason="Asked by email")
    erased = Lead.objects.get(pk=lead.pk)
    assert erased.status == S.DO_NOT_CONTACT and erased.email is None
    assert _moves(lead) == []


@pytest.mark.parametrize(("start", "won", "to"), [(S.MEETING, True, S.WON), (S.INTERESTED, False, S.LOST)])
def test_it_lets_a_rep_close_a_lead(start, won, to, alice, campaign, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, status=start)
    waiting = MessageFactory(lead=lead, account=alice_account, status=OutreachMessage.Status.APPROVED)
    assert lead_close(lead=lead, actor=alice, won=won, reason="Signed" if won else "Went elsewhere")
    assert _status(lead) == to
    waiting.refresh_from_db()
    assert waiting.status == OutreachMessage.Status.CANCELLED
    assert not lead_close(lead=lead, actor=alice, won=not won)
