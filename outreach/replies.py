"""Replies: stored once, they stop the sequence, then their analysis drives the lead and drafts an answer."""

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.services import campaign_brief
from leads.lifecycle import REPLY_TRIGGER, Trigger, lead_transition
from leads.models import Lead, Suppression
from leads.services import activity_record, lead_facts, lead_set_do_not_contact
from leads.suppression import suppression_add_for_lead
from outreach.bounces import email_bounce_record
from outreach.channels.base import ChannelUnavailable, InboundItem
from outreach.channels.registry import channel_for
from outreach.guardrails import check_draft, check_internal_text
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.services import messages_cancel_for_lead
from salesdept import clock, dates, llm
from salesdept.llm.prompts import override_for as llm_prompt_override
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
    inbound_analyse_task.delay_on_commit(inbound.pk)
    return True


LEAD_STATUS_FOR_INTENT = {
    "interested": Lead.Status.INTERESTED,
    "requesting_info": Lead.Status.INTERESTED,
    "not_interested": Lead.Status.LOST,
    "not_now": Lead.Status.SNOOZED,
}


def inbound_analyse(*, inbound_id: int) -> InboundMessage | None:
    """Understand a stored reply, act on it (opt-out, snooze, interest) and suggest an answer.

    The model is asked outside any transaction; the answer is written under a row lock, so two
    copies of the task never both act on one reply.
    """
    inbound = InboundMessage.objects.select_related(
        "account", "lead__company", "lead__owner", "lead__campaign__owner", "in_reply_to__campaign__owner"
    ).get(pk=inbound_id)
    if inbound.intent:
        return None  # already analysed
    lead, replied_to = inbound.lead, inbound.in_reply_to
    campaign = replied_to.campaign if replied_to else lead.campaign
    sender = (lead.owner.get_full_name() or lead.owner.email) if lead.owner else ""
    result = llm.analyse_reply(
        text=inbound.text,
        received_at=inbound.received_at,
        tz=_reply_zone(inbound),
        date_order=dates.date_order(inbound.account.locale),
        lead=lead_facts(lead),
        brief=campaign_brief(campaign=campaign, sender_name=sender, label=lead.label) if campaign else None,
        our_message=replied_to.body if replied_to else "",
        lead_id=lead.pk,
        campaign_id=campaign.pk if campaign else None,
    )
    return _inbound_act(inbound_id=inbound_id, result=result)


def _reply_zone(inbound: InboundMessage) -> dt.tzinfo:
    """Where "tomorrow" is meant: the prospect's zone when known, else the account's that got the reply."""
    return dates.zone(inbound.lead.timezone, inbound.account.timezone)


def _reply_snooze(inbound: InboundMessage, result: "llm.Result[llm.ReplyAnalysis]") -> dates.Snooze | None:
    """The date a "not now" or an auto-reply puts the lead to sleep until; None for other intents.

    The template's date is the reader's own, so only a model's date is checked against the text.
    """
    analysis = result.value
    if analysis.intent not in ("not_now", "out_of_office"):
        return None
    return dates.snooze_settle(
        text=inbound.text,
        proposed=None if result.from_template else analysis.snooze_until,
        received_at=inbound.received_at,
        tz=_reply_zone(inbound),
        order=dates.date_order(inbound.account.locale),
        default=AWAY_DEFAULT if analysis.intent == "out_of_office" else NOT_NOW_DEFAULT,
    )


@transaction.atomic
def _inbound_act(*, inbound_id: int, result: "llm.Result[llm.ReplyAnalysis]") -> InboundMessage | None:
    inbound = (
        InboundMessage.objects.select_for_update(of=("self",))
        .select_related("lead", "account", "in_reply_to__campaign", "in_reply_to__account")
        .get(pk=inbound_id)
    )
    if inbound.intent:
        return None  # another worker got there first
    analysis = result.value
    snooze = _reply_snooze(inbound, result)
    inbound.intent = analysis.intent
    inbound.sentiment = analysis.sentiment
    inbound.confidence = analysis.confidence
    inbound.snooze_until = snooze.until if snooze else None
    inbound.analysis = {
        **analysis.model_dump(mode="json"),
        "llm_call": result.call.pk,
        "generated_by": _generated_by(result),
    }
    if snooze:
        inbound.analysis |= {
            "snooze_until": snooze.until.isoformat(),
            "snooze_source": snooze.summary,
            "snooze_phrase": snooze.phrase,
            "snooze_note": snooze.note,
            "snooze_proposed": analysis.snooze_until.isoformat() if analysis.snooze_until else None,
        }
    inbound.save(update_fields=["intent", "sentiment", "confidence", "snooze_until", "analysis"])
    lead = inbound.lead
    activity_record(verb="reply.analysed", lead=lead, inbound=inbound.pk, intent=analysis.intent)
    if analysis.intent == "unsubscribe":
        lead_set_do_not_contact(lead=lead, actor=None, reason="Asked to be removed in a reply")
        suppression_add_for_lead(lead=lead, reason=Suppression.Reason.OBJECTION)
    elif analysis.intent == "out_of_office":
        _pause_until_back(inbound, lead, snooze)
    elif status := LEAD_STATUS_FOR_INTENT.get(analysis.intent):
        lead_transition(
            lead=lead,
            to=status,
            trigger=REPLY_TRIGGER[status],
            reason=f"Reply {inbound.pk}: {analysis.intent}",
            payload={"source": snooze.summary, "phrase": snooze.phrase, "note": snooze.note} if snooze else None,
            snoozed_until=snooze.until if snooze else None,
        )
        if status == Lead.Status.INTERESTED:
            # With the message replied to: the positive rate by account and version counts it there.
            activity_record(verb="reply.positive", lead=lead, message=inbound.in_reply_to, inbound=inbound.pk)
    if analysis.intent == "referral":
        _lead_from_referral(inbound, lead, analysis.referral_name)
    answer = inbound_answer_suggest(inbound=inbound, result=result) if analysis.suggested_reply.strip() else None
    if analysis.intent in NOTIFY_INTENTS:
        _notify_owner(inbound, lead, analysis, answer)
    return inbound


# Replies the owner hears about at once: someone wants something from us.
NOTIFY_INTENTS = {"interested", "requesting_info", "referral", "unclear"}
# "Not now" with no date in the reply: ask again after this long.
NOT_NOW_DEFAULT = dt.timedelta(days=90)
# Out of office with no return date: look again after this long.
AWAY_DEFAULT = dt.timedelta(days=7)


def _notify_owner(inbound: InboundMessage, lead: Lead, analysis, answer: OutreachMessage | None) -> None:
    what = InboundMessage.Intent(analysis.intent).label.lower()
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


def _generated_by(result: "llm.Result") -> str:
    return "template" if result.from_template else result.call.model


@transaction.atomic
def inbound_answer_suggest(
    *, inbound: InboundMessage, result: "llm.Result[llm.ReplyAnalysis]"
) -> OutreachMessage | None:
    """Put the analysis's suggested answer in the rep's approval queue, once per reply.

    It goes out the way the reply came in: the account and campaign of the message replied to
    (else the lead's campaign and the account the reply reached), by email on an email account
    and as a LinkedIn message otherwise.
    """
    lead = Lead.objects.get(pk=inbound.lead_id)  # fresh: the analysis may just have opted them out
    replied_to = inbound.in_reply_to
    campaign = replied_to.campaign if replied_to else lead.campaign
    if lead.status == Lead.Status.DO_NOT_CONTACT or campaign is None:
        return None
    account = replied_to.account if replied_to and replied_to.account else inbound.account
    kind = Kind.EMAIL if account.channel == SendingAccount.Channel.EMAIL else Kind.MESSAGE
    subject = _answer_subject(replied_to, campaign) if kind == Kind.EMAIL else ""
    body = result.value.suggested_reply.strip()
    banned = tuple(override.banned_phrases) if (override := llm_prompt_override("draft")) else ()
    findings = check_draft(
        kind=kind,
        subject=subject,
        body=body,
        first_name=lead.first_name,
        allowed_links=campaign.brief_links,
        banned=banned,
    )
    findings += check_internal_text(text=f"{subject}\n{body}", campaign=campaign, lead=lead)
    if result.call.error:
        findings.append({"code": "llm_fallback", "message": result.call.error, "blocking": False})
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
            "generated_by": _generated_by(result),
            "llm_call": result.call,
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
