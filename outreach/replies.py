"""Replies: stored once, they stop the sequence, then their analysis drives the lead."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from leads.models import Lead
from leads.services import activity_record, lead_set_do_not_contact
from outreach.channels.base import InboundItem
from outreach.channels.registry import channel_for
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.services import messages_cancel_for_lead
from salesdept import llm

log = logging.getLogger(__name__)
POLL_INTERVAL = dt.timedelta(minutes=5)


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
    """Understand a stored reply and act on it: opt-out, snooze, interest.

    The model is asked outside any transaction; the answer is written under a row lock, so two
    copies of the task never both act on one reply.
    """
    inbound = InboundMessage.objects.select_related("lead").get(pk=inbound_id)
    if inbound.intent:
        return None  # already analysed
    result = llm.analyse_reply(
        text=inbound.text, today=timezone.localdate(), lead_id=inbound.lead_id, campaign_id=inbound.lead.campaign_id
    )
    return _inbound_act(inbound_id=inbound_id, result=result)


@transaction.atomic
def _inbound_act(*, inbound_id: int, result: "llm.Result[llm.ReplyAnalysis]") -> InboundMessage | None:
    inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("lead").get(pk=inbound_id)
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
        "generated_by": "template" if result.from_template else result.call.model,
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
    return inbound
