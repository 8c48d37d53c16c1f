from celery import shared_task
from django.utils import timezone

from outreach.models import SendingAccount
from outreach.replies import inbound_analyse, outreach_poll_replies
from outreach.sending import outreach_dispatch, outreach_send_next, sends_mark_stuck_unknown
from outreach.services import followups_draft_due, message_draft


@shared_task
def message_draft_task(lead_id: int, step: int = 1) -> int | None:
    message = message_draft(lead_id=lead_id, step=step)
    return message.pk if message else None


@shared_task
def outreach_send_next_task(account_id: int) -> str:
    # Never retried: a send that may have left must not go twice (the sweeper handles it).
    return outreach_send_next(account_id=account_id)


@shared_task
def outreach_dispatch_task() -> int:
    return len(outreach_dispatch(now=timezone.now()))


@shared_task
def outreach_poll_all_task() -> int:
    ids = list(SendingAccount.objects.filter(is_active=True).values_list("pk", flat=True))
    for account_id in ids:
        outreach_poll_replies_task.delay(account_id)
    return len(ids)


@shared_task
def outreach_poll_replies_task(account_id: int) -> int:
    return outreach_poll_replies(account_id=account_id)


@shared_task
def inbound_analyse_task(inbound_id: int) -> str:
    inbound = inbound_analyse(inbound_id=inbound_id)
    return inbound.intent if inbound else "already analysed"


@shared_task
def followups_draft_due_task() -> int:
    return len(followups_draft_due(now=timezone.now()))


@shared_task
def sends_mark_stuck_unknown_task() -> int:
    return sends_mark_stuck_unknown(now=timezone.now())
