"""Replies: stored once, they stop the sequence, then their analysis drives the lead and drafts an answer."""

import dataclasses
import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from campaigns.briefs import campaign_brief
from campaigns.models import Campaign
from leads.lifecycle import REPLY_TRIGGER, Trigger, lead_transition
from leads.models import Lead, Suppression
from leads.services import activity_record, lead_facts, lead_set_do_not_contact
from leads.suppression import suppression_add_for_lead
from outreach import optout
from outreach.bounces import email_bounce_record
from outreach.channels.base import ChannelUnavailable, InboundItem
from outreach.channels.registry import channel_for
from outreach.guardrails import check_message
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.services import fact_check_findings, messages_cancel_for_lead
from outreach.unsubscribe import lead_unsubscribe
from outreach.voice import signature_for, signatures_of, team_voice
from salesdept import clock, dates, llm
from salesdept.models import LLMCall
from salesdept.notifications import notify

log = logging.getLogger(__name__)
POLL_INTERVAL = dt.timedelta(minutes=5)
Kind = OutreachMessage.Kind


def outreach_poll_replies(*, account_id: int, now: dt.datetime | None = None) -> int:
    """Read new replies of one account; the window overlaps the last poll, dedupe makes it safe.

    The channel's read cursor moves only after every item is stored, so a crash re-reads.
    """
    now = now or clock.now()
    account = SendingAccount.objects.get(pk=account_id)
    since = (account.polled_at or now - dt.timedelta(days=1)) - 2 * POLL_INTERVAL
    channel = channel_for(account.channel)
    try:
        items = channel.fetch_messages(account, since=since, now=now)
    except ChannelUnavailable as exc:
        log.warning("replies of account %s unavailable: %s", account.pk, exc)
        return 0
    created = 0
    for item in items:
        if item.kind == "bounce":
            email_bounce_record(account=account, item=item)
        elif item.kind == "unsubscribe":
            lead_unsubscribe(token=item.unsubscribe_token, via="mailto")  # idempotent: a re-read changes nothing
        else:
            created += inbound_record(account=account, item=item)
    channel.acknowledge(account, items)
    SendingAccount.objects.filter(pk=account.pk).update(polled_at=now)
    return created


def _replied_to(account: SendingAccount, item: InboundItem) -> OutreachMessage | None:
    """Our message this answers: by our key (email headers), else the LinkedIn chat it came in."""
    messages = OutreachMessage.objects.select_related("lead")
    if item.in_reply_to_key:
        try:
            return messages.filter(idempotency_key=item.in_reply_to_key).first()
        except ValidationError:  # not one of our keys
            return None
    if item.chat_id:
        return (
            messages.filter(account=account, chat_id=item.chat_id, status=OutreachMessage.Status.SENT)
            .order_by("-sent_at")
            .first()
        )
    return None


def _sender_lead(item: InboundItem) -> Lead | None:
    if item.sender_email and (lead := Lead.objects.filter(email__iexact=item.sender_email).first()):
        return lead
    if item.sender_provider_id:
        return Lead.objects.filter(provider_id=item.sender_provider_id).first()
    return None


def _replied_reason(inbound: InboundMessage) -> str:
    # Names the reply, so an out-of-office answer can put back exactly what this reply stopped.
    return f"The lead replied (reply {inbound.pk})"


@transaction.atomic
def inbound_record(*, account: SendingAccount, item: InboundItem) -> bool:
    """Store a reply once (unique provider id), stop the lead's sequence, queue its analysis."""
    from outreach.tasks import inbound_analyse_task

    replied_to = _replied_to(account, item)
    lead = replied_to.lead if replied_to else _sender_lead(item)
    if lead is None:
        log.info("reply %s matches no lead; ignored", item.provider_id)
        return False
    inbound, created = InboundMessage.objects.get_or_create(
        provider_id=item.provider_id,
        defaults={
            "lead": lead,
            "account": account,
            "in_reply_to": replied_to,
            "text": item.text,
            "received_at": item.received_at,
        },
    )
    if not created:
        return False
    activity_record(verb="reply.received", lead=lead, message=replied_to, inbound=inbound.pk, text=item.text[:500])
    messages_cancel_for_lead(lead=lead, reason=_replied_reason(inbound))
    lead_transition(lead=lead, to=Lead.Status.REPLIED, trigger=Trigger.REPLY_RECEIVED, reason=_replied_reason(inbound))
    if verdict := optout.read(item.text):
        _floor_act(inbound, verdict)  # at once: an opt-out waits for no worker and no model
    else:
        inbound_analyse_task.delay_on_commit(inbound.pk)
    return True


LEAD_STATUS_FOR_INTENT = {
    "interested": Lead.Status.INTERESTED,
    "requesting_info": Lead.Status.INTERESTED,
    "not_interested": Lead.Status.LOST,
    "not_now": Lead.Status.SNOOZED,
}
# Readings that move the lead; below LLM_REVIEW_BELOW_CONFIDENCE they wait for a person instead.
# An opt-out is not among them: stopping all contact is the safe side of any doubt.
ACTING_INTENTS = {"interested", "requesting_info", "not_interested", "not_now", "out_of_office", "referral"}
# Replies that get no suggested answer, whatever the reader wrote: nobody asked us anything.
NO_ANSWER_INTENTS = {"out_of_office", "unsubscribe", "not_interested"}
FLOOR = "opt-out rules"  # who read a reply the floor decided, in place of a model's name


def _floor_act(inbound: InboundMessage, verdict: optout.Verdict) -> None:
    """The opt-out floor's verdict is the reply's reading: no model is asked, nothing is suggested."""
    inbound.intent = verdict.intent
    inbound.sentiment = "negative"
    inbound.confidence = 1.0
    inbound.analysis = {
        "intent": verdict.intent,
        "key_facts": [],
        "suggested_reply": "",
        "generated_by": FLOOR,
        "floor_phrase": verdict.phrase,
    }
    inbound.save(update_fields=["intent", "sentiment", "confidence", "analysis"])
    lead = inbound.lead
    activity_record(verb="reply.analysed", lead=lead, inbound=inbound.pk, intent=verdict.intent, phrase=verdict.phrase)
    _reply_act(inbound, lead, verdict.intent, snooze=None, referral_name="")


def inbound_analyse(*, inbound_id: int) -> InboundMessage | None:
    """Understand a stored reply, act on it (opt-out, snooze, interest) and suggest an answer.

    The model is asked outside any transaction; the answer is written under a row lock, so two
    copies of the task never both act on one reply. A model's suggested answer is fact-checked
    here too, so that confirming an unsure reading later needs no model.
    """
    inbound = InboundMessage.objects.select_related(
        "account", "lead__company", "lead__owner", "lead__campaign__owner", "in_reply_to__campaign__owner"
    ).get(pk=inbound_id)
    if inbound.intent:
        return None  # already analysed
    if optout.read(inbound.text):
        return _inbound_floor(inbound_id=inbound_id)
    lead, replied_to = inbound.lead, inbound.in_reply_to
    campaign = replied_to.campaign if replied_to else lead.campaign
    sender = signature_for(lead.owner, team=team_voice(), signatures=signatures_of([lead.owner_id]))
    facts = lead_facts(lead)
    brief = campaign_brief(campaign=campaign, sender_name=sender, label=lead.label) if campaign else None
    result = llm.analyse_reply(
        text=inbound.text,
        received_at=inbound.received_at,
        tz=_reply_zone(inbound),
        date_order=dates.date_order(inbound.account.locale),
        lead=facts,
        brief=brief,
        our_message=replied_to.body if replied_to else "",
        lead_id=lead.pk,
        campaign_id=campaign.pk if campaign else None,
    )
    result = _away_floor(result, inbound.text)
    check = None
    if _answer_warranted(result.value) and brief and not result.from_template:
        check = llm.fact_check_answer(
            lead=facts, brief=brief, body=result.value.suggested_reply, lead_id=lead.pk, campaign_id=campaign.pk
        )
    return _inbound_act(inbound_id=inbound_id, result=result, check=check)


@transaction.atomic
def _inbound_floor(*, inbound_id: int) -> InboundMessage | None:
    inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("lead").get(pk=inbound_id)
    if inbound.intent or not (verdict := optout.read(inbound.text)):
        return None
    _floor_act(inbound, verdict)
    return inbound


def _away_floor(result: "llm.Result[llm.ReplyAnalysis]", text: str) -> "llm.Result[llm.ReplyAnalysis]":
    """An auto-reply is out of office whatever the reader said: it is paused, never answered."""
    phrase = optout.auto_reply(text)
    if not phrase or result.value.intent == "out_of_office":
        return result
    read_as = result.value.intent
    away = result.value.model_copy(
        update={
            "intent": "out_of_office",
            "sentiment": "neutral",
            "confidence": 1.0,
            "suggested_reply": "",
            "key_facts": [*result.value.key_facts, f"An automatic reply (“{phrase}”), read as {read_as}"],
        }
    )
    return dataclasses.replace(result, value=away)


def _answer_warranted(analysis: "llm.ReplyAnalysis") -> bool:
    return analysis.intent not in NO_ANSWER_INTENTS and bool(analysis.suggested_reply.strip())


def _reply_zone(inbound: InboundMessage) -> dt.tzinfo:
    """Where "tomorrow" is meant: the prospect's zone when known, else the account's that got the reply."""
    return dates.zone(inbound.lead.timezone, inbound.account.timezone)


def _reply_snooze(
    inbound: InboundMessage, intent: str, proposed: dt.date | None, from_template: bool
) -> dates.Snooze | None:
    """The date a "not now" or an auto-reply puts the lead to sleep until; None for other intents.

    The template's date is the reader's own, so only a model's date is checked against the text.
    """
    if intent not in ("not_now", "out_of_office"):
        return None
    return dates.snooze_settle(
        text=inbound.text,
        proposed=None if from_template else proposed,
        received_at=inbound.received_at,
        tz=_reply_zone(inbound),
        order=dates.date_order(inbound.account.locale),
        default=AWAY_DEFAULT if intent == "out_of_office" else NOT_NOW_DEFAULT,
    )


def _snooze_fields(snooze: dates.Snooze, proposed: dt.date | None) -> dict:
    return {
        "snooze_until": snooze.until.isoformat(),
        "snooze_source": snooze.summary,
        "snooze_phrase": snooze.phrase,
        "snooze_note": snooze.note,
        "snooze_proposed": proposed.isoformat() if proposed else None,
    }


@transaction.atomic
def _inbound_act(
    *, inbound_id: int, result: "llm.Result[llm.ReplyAnalysis]", check: "llm.Result[llm.FactCheck] | None" = None
) -> InboundMessage | None:
    inbound = (
        InboundMessage.objects.select_for_update(of=("self",))
        .select_related("lead", "account", "in_reply_to__campaign", "in_reply_to__account")
        .get(pk=inbound_id)
    )
    if inbound.intent:
        return None  # another worker got there first
    analysis = result.value
    check_due = _answer_warranted(analysis) and not result.from_template
    snooze = _reply_snooze(inbound, analysis.intent, analysis.snooze_until, result.from_template)
    inbound.intent = analysis.intent
    inbound.sentiment = analysis.sentiment
    inbound.confidence = analysis.confidence
    inbound.snooze_until = snooze.until if snooze else None
    inbound.needs_look = (
        analysis.intent in ACTING_INTENTS and analysis.confidence < settings.LLM_REVIEW_BELOW_CONFIDENCE
    )
    inbound.analysis = {
        **analysis.model_dump(mode="json"),
        "llm_call": result.call.pk,
        "generated_by": result.generated_by,
        "answer_findings": fact_check_findings(check) if check_due else [],
        "answer_llm_error": result.call.error,
    }
    if snooze:
        inbound.analysis |= _snooze_fields(snooze, analysis.snooze_until)
    inbound.save(update_fields=["intent", "sentiment", "confidence", "snooze_until", "needs_look", "analysis"])
    lead = inbound.lead
    activity_record(verb="reply.analysed", lead=lead, inbound=inbound.pk, intent=analysis.intent)
    if inbound.needs_look:
        # The reading is a guess: the lead stays as it is (its sequence already stopped) until a rep confirms.
        activity_record(verb="reply.needs_look", lead=lead, inbound=inbound.pk, confidence=analysis.confidence)
        _notify_owner(inbound, lead, None, needs_look=True)
        return inbound
    _reply_act(inbound, lead, analysis.intent, snooze=snooze, referral_name=analysis.referral_name)
    answer = inbound_answer_suggest(inbound=inbound, call=result.call) if _answer_warranted(analysis) else None
    if analysis.intent in NOTIFY_INTENTS:
        _notify_owner(inbound, lead, answer)
    return inbound


def _reply_act(
    inbound: InboundMessage, lead: Lead, intent: str, *, snooze: dates.Snooze | None, referral_name: str
) -> None:
    """What a reply's intent does to the lead: one path for a confident reading and a rep's confirmation."""
    if intent == "unsubscribe":
        activity_record(verb="reply.opt_out", lead=lead, inbound=inbound.pk)
        lead_set_do_not_contact(lead=lead, actor=None, reason="Asked to be removed in a reply")
        suppression_add_for_lead(lead=lead, reason=Suppression.Reason.OBJECTION)
    elif intent == "out_of_office":
        _pause_until_back(inbound, lead, snooze)
    elif status := LEAD_STATUS_FOR_INTENT.get(intent):
        lead_transition(
            lead=lead,
            to=status,
            trigger=REPLY_TRIGGER[status],
            reason=f"Reply {inbound.pk}: {intent}",
            payload={"source": snooze.summary, "phrase": snooze.phrase, "note": snooze.note} if snooze else None,
            snoozed_until=snooze.until if snooze else None,
        )
        if status == Lead.Status.INTERESTED:
            # With the message replied to: the positive rate by account and version counts it there.
            activity_record(verb="reply.positive", lead=lead, message=inbound.in_reply_to, inbound=inbound.pk)
    if intent == "referral":
        _lead_from_referral(inbound, lead, referral_name)


class ConfirmError(Exception):
    """A confirmation that cannot be taken; the text is shown to the rep."""


@transaction.atomic
def inbound_confirm(*, inbound: InboundMessage, actor, intent: str) -> InboundMessage:
    """A rep settles what an unsure reply means; it then acts as a confident reading would.

    The suggested answer is kept only when the rep confirms the reader's own intent: an answer
    written for another reading would answer the wrong thing.
    """
    if intent not in InboundMessage.Intent.values:
        raise ConfirmError(f"{intent!r} is not an intent.")
    read_as = inbound.intent
    if not InboundMessage.objects.filter(pk=inbound.pk, needs_look=True).update(needs_look=False, intent=intent):
        raise ConfirmError("Someone already confirmed this reply: nothing was changed.")
    inbound.refresh_from_db()
    lead = Lead.objects.get(pk=inbound.lead_id)
    activity_record(verb="reply.confirmed", lead=lead, inbound=inbound.pk, actor=actor, intent=intent, read_as=read_as)
    analysis = inbound.analysis
    proposed = dt.date.fromisoformat(analysis["snooze_proposed"]) if analysis.get("snooze_proposed") else None
    from_template = analysis.get("generated_by") == "template"
    snooze = _reply_snooze(inbound, intent, proposed if intent == read_as else None, from_template)
    if snooze:
        inbound.snooze_until = snooze.until
        inbound.analysis |= _snooze_fields(snooze, proposed)
        inbound.save(update_fields=["snooze_until", "analysis"])
    _reply_act(inbound, lead, intent, snooze=snooze, referral_name=analysis.get("referral_name", ""))
    if intent == read_as and intent not in NO_ANSWER_INTENTS and analysis.get("suggested_reply", "").strip():
        call = LLMCall.objects.filter(pk=analysis.get("llm_call")).first()
        inbound_answer_suggest(inbound=inbound, call=call)
    return inbound


# Replies the owner hears about at once: someone wants something from us.
NOTIFY_INTENTS = {"interested", "requesting_info", "referral", "unclear"}
# "Not now" with no date in the reply: ask again after this long.
NOT_NOW_DEFAULT = dt.timedelta(days=90)
# Out of office with no return date: look again after this long.
AWAY_DEFAULT = dt.timedelta(days=7)


def _notify_owner(
    inbound: InboundMessage, lead: Lead, answer: OutreachMessage | None, *, needs_look: bool = False
) -> None:
    what = InboundMessage.Intent(inbound.intent).label.lower()
    if needs_look:
        text = f"{lead.full_name} replied (read as {what}, unsure: needs a look): {inbound.text[:160]}"
        url = f"{reverse('outreach:inbox')}?look=1#reply-{inbound.pk}"
    else:
        text = f"{lead.full_name} replied ({what}): {inbound.text[:160]}"
        url = reverse("approvals:item", args=[answer.pk]) if answer else reverse("leads:detail", args=[lead.pk])
    notify(user=lead.owner, text=text, url=url)


def _pause_until_back(inbound: InboundMessage, lead: Lead, snooze: dates.Snooze) -> None:
    """An auto-reply is not an answer: the sequence waits until they are back, then goes on.

    What the reply stopped goes back to the queue (a person approves it again: the dates in it
    may be stale), and the lead sleeps until the return date so none of it is sent before.
    """
    back_on = snooze.until
    status = Lead.Status.SNOOZED
    if not lead_transition(
        lead=lead, to=status, trigger=Trigger.REPLY_AWAY, reason=f"Reply {inbound.pk}: away", snoozed_until=back_on
    ):
        return
    stopped = OutreachMessage.objects.filter(
        lead=lead, status=OutreachMessage.Status.CANCELLED, last_error=_replied_reason(inbound)
    )
    restored = stopped.update(
        status=OutreachMessage.Status.PENDING_APPROVAL,
        last_error="",
        decided_by=None,
        decided_at=None,
        not_before=None,
        revision=F("revision") + 1,
    )
    activity_record(
        verb="lead.away",
        lead=lead,
        inbound=inbound.pk,
        until=back_on.isoformat(),
        drafts_restored=restored,
        source=snooze.summary,
        phrase=snooze.phrase,
        note=snooze.note,
    )


def _lead_from_referral(inbound: InboundMessage, lead: Lead, name: str) -> Lead | None:
    """The person they named becomes a lead of the same campaign and rep, to be found and qualified."""
    first, _, last = " ".join(name.split()).partition(" ")
    if not first:
        return None
    existing = Lead.objects.filter(first_name__iexact=first, last_name__iexact=last, company=lead.company_id).first()
    if existing:
        activity_record(verb="reply.referral_known", lead=lead, inbound=inbound.pk, referred=existing.pk)
        return existing
    referred = Lead.objects.create(
        first_name=first[:100],
        last_name=last[:100],
        company=lead.company,
        location=lead.location,
        timezone=lead.timezone,
        campaign=lead.campaign,
        owner=lead.owner,
        source="referral",
        source_ref=f"reply:{inbound.pk}",
        insight=f"Referred by {lead.full_name}: {inbound.text[:200]}"[:300],
    )
    activity_record(verb="lead.referred", lead=referred, referred_by=lead.pk, inbound=inbound.pk)
    activity_record(verb="reply.referral", lead=lead, inbound=inbound.pk, referred=referred.pk)
    from leads.tasks import leads_qualify_task

    leads_qualify_task.delay_on_commit([referred.pk])
    return referred


@transaction.atomic
def inbound_answer_suggest(*, inbound: InboundMessage, call: LLMCall | None) -> OutreachMessage | None:
    """Put the analysis's suggested answer in the rep's approval queue, once per reply.

    It goes out the way the reply came in: the account and campaign of the message replied to
    (else the lead's campaign and the account the reply reached), by email on an email account
    and as a LinkedIn message otherwise. It passes the drafts' guardrails, and a model's answer
    carries its fact check's findings (a check that did not run blocks it).
    """
    lead = Lead.objects.select_related("owner").get(pk=inbound.lead_id)  # fresh: it may just have opted out
    replied_to = inbound.in_reply_to
    campaign = replied_to.campaign if replied_to else lead.campaign
    if lead.status == Lead.Status.DO_NOT_CONTACT or campaign is None:
        return None
    account = replied_to.account if replied_to and replied_to.account else inbound.account
    kind = Kind.EMAIL if account.channel == SendingAccount.Channel.EMAIL else Kind.MESSAGE
    subject = _answer_subject(replied_to, campaign) if kind == Kind.EMAIL else ""
    analysis = inbound.analysis
    body = analysis.get("suggested_reply", "").strip()
    generated_by = analysis.get("generated_by", "template")
    unsaved = OutreachMessage(lead=lead, campaign=campaign, account=account, kind=kind)  # who it goes to, and how
    findings = check_message(message=unsaved, subject=subject, body=body, for_model=generated_by != "template")
    findings += analysis.get("answer_findings", [])
    if analysis.get("answer_llm_error"):
        findings.append({"code": "llm_fallback", "message": analysis["answer_llm_error"], "blocking": False})
    answer, created = OutreachMessage.objects.get_or_create(
        reply_to=inbound,
        defaults={
            "lead": lead,
            "campaign": campaign,
            "account": account,
            "step": replied_to.step if replied_to else 1,
            "kind": kind,
            "subject": subject,
            "body": body,
            "original_subject": subject,
            "original_body": body,
            "generated_by": generated_by,
            "llm_call": call,
            "guardrail_findings": findings,
            "blocked": any(finding["blocking"] for finding in findings),
            "status": OutreachMessage.Status.PENDING_APPROVAL,
        },
    )
    if created:
        activity_record(
            verb="reply.answer_suggested",
            lead=lead,
            message=answer,
            inbound=inbound.pk,
            generated_by=answer.generated_by,
            blocked=answer.blocked,
        )
    return answer


def _answer_subject(replied_to: OutreachMessage | None, campaign: Campaign) -> str:
    subject = (replied_to.subject if replied_to else "") or campaign.event or "our conversation"  # the name is internal
    return (subject if subject.lower().startswith("re:") else f"Re: {subject}")[:200]
