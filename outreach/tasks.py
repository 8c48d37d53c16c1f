from celery import shared_task
from django.utils import timezone

from outreach.models import SendingAccount
from outreach.replies import inbound_analyse, outreach_poll_replies
from outreach.sending import outreach_dispatch, outreach_send_next, sends_mark_stuck_unknown
from outreach.services import followups_draft_due, messages_draft, messages_fill


@shared_task
def messages_draft_task(lead_ids: list[int], step: int = 1) -> int:
    return len(messages_draft(lead_ids=lead_ids, step=step))


@shared_task
def messages_fill_task(message_ids: list[int]) -> int:
    """Finish drafts left in `generating`: a regenerate request, or a run that died midway."""
    return len(messages_fill(message_ids=message_ids))


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
