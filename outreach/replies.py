"""Replies: stored once, they stop the sequence, then their analysis drives the lead and drafts an answer."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_brief
from leads.models import Lead
from leads.services import activity_record, lead_facts, lead_set_do_not_contact
from outreach.channels.base import InboundItem
from outreach.channels.registry import channel_for
from outreach.guardrails import check_draft
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.services import messages_cancel_for_lead
from salesdept import llm
from salesdept.llm.prompts import override_for as llm_prompt_override

log = logging.getLogger(__name__)
POLL_INTERVAL = dt.timedelta(minutes=5)
Kind = OutreachMessage.Kind


def outreach_poll_replies(*, account_id: int, now: dt.datetime | None = None) -> int:
    """Read new replies of one account; the window overlaps the last poll, dedupe makes it safe."""
    now = now or timezone.now()
    account = SendingAccount.objects.get(pk=account_id)
    since = (account.polled_at or now - dt.timedelta(days=1)) - 2 * POLL_INTERVAL
    items = channel_for(account.channel).fetch_messages(account, since=since, now=now)
    created = sum(inbound_record(account=account, item=item) for item in items)
    SendingAccount.objects.filter(pk=account.pk).update(polled_at=now)
    return created


@transaction.atomic
def inbound_record(*, account: SendingAccount, item: InboundItem) -> bool:
    """Store a reply once (unique provider id), stop the lead's sequence, queue its analysis."""
    from outreach.tasks import inbound_analyse_task

    replied_to = (
        OutreachMessage.objects.select_related("lead").filter(idempotency_key=item.in_reply_to_key).first()
        if item.in_reply_to_key
        else None
    )
    lead = replied_to.lead if replied_to else Lead.objects.filter(provider_id=item.sender_provider_id).first()
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
    messages_cancel_for_lead(lead=lead, reason="The lead replied")
    Lead.objects.filter(pk=lead.pk).exclude(status=Lead.Status.DO_NOT_CONTACT).update(status=Lead.Status.REPLIED)
    inbound_analyse_task.delay_on_commit(inbound.pk)
    return True


LEAD_STATUS_FOR_INTENT = {
    "interested": Lead.Status.INTERESTED,
    "requesting_info": Lead.Status.INTERESTED,
    "not_interested": Lead.Status.LOST,
    "not_now": Lead.Status.SNOOZED,
    "out_of_office": Lead.Status.SNOOZED,
}


def inbound_analyse(*, inbound_id: int) -> InboundMessage | None:
    """Understand a stored reply, act on it (opt-out, snooze, interest) and suggest an answer.

    The model is asked outside any transaction; the answer is written under a row lock, so two
    copies of the task never both act on one reply.
    """
    inbound = InboundMessage.objects.select_related(
        "lead__company", "lead__owner", "lead__campaign__owner", "in_reply_to__campaign__owner"
    ).get(pk=inbound_id)
    if inbound.intent:
        return None  # already analysed
    lead, replied_to = inbound.lead, inbound.in_reply_to
    campaign = replied_to.campaign if replied_to else lead.campaign
    sender = (lead.owner.get_full_name() or lead.owner.email) if lead.owner else ""
    result = llm.analyse_reply(
        text=inbound.text,
        today=timezone.localdate(),
        lead=lead_facts(lead),
        brief=campaign_brief(campaign=campaign, sender_name=sender) if campaign else None,
        our_message=replied_to.body if replied_to else "",
        lead_id=lead.pk,
        campaign_id=campaign.pk if campaign else None,
    )
    return _inbound_act(inbound_id=inbound_id, result=result)


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
    inbound.intent = analysis.intent
    inbound.sentiment = analysis.sentiment
    inbound.confidence = analysis.confidence
    inbound.snooze_until = analysis.snooze_until
    inbound.analysis = {
        **analysis.model_dump(mode="json"),
        "llm_call": result.call.pk,
        "generated_by": _generated_by(result),
    }
    inbound.save(update_fields=["intent", "sentiment", "confidence", "snooze_until", "analysis"])
    lead = inbound.lead
    activity_record(verb="reply.analysed", lead=lead, inbound=inbound.pk, intent=analysis.intent)
    if analysis.intent == "unsubscribe":
        lead_set_do_not_contact(lead=lead, actor=None, reason="Asked to be removed in a reply")
    elif status := LEAD_STATUS_FOR_INTENT.get(analysis.intent):
        Lead.objects.filter(pk=lead.pk).exclude(status=Lead.Status.DO_NOT_CONTACT).update(
            status=status, snoozed_until=analysis.snooze_until
        )
        if status == Lead.Status.INTERESTED:
            activity_record(verb="reply.positive", lead=lead, inbound=inbound.pk)
    if analysis.suggested_reply.strip():
        inbound_answer_suggest(inbound=inbound, result=result)
    return inbound


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
    subject = (replied_to.subject if replied_to else "") or campaign.event or campaign.name
    return (subject if subject.lower().startswith("re:") else f"Re: {subject}")[:200]
