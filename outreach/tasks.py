from celery import shared_task

from outreach.accounts import accounts_resume_due
from outreach.channels.base import ChannelUnavailable
from outreach.invitations import invites_withdraw_stale, relations_poll
from outreach.models import SendingAccount
from outreach.replies import inbound_analyse, outreach_poll_replies
from outreach.sending import outreach_dispatch, outreach_send_next, sends_mark_stuck_unknown
from outreach.services import (
    DRAFT_SOFT_TIME_LIMIT,
    DRAFT_TIME_LIMIT,
    drafting_start_by,
    drafts_release_stuck,
    followups_draft_due,
    messages_draft,
    messages_fill,
    tasks_draft_due,
)
from salesdept import clock


@shared_task(soft_time_limit=DRAFT_SOFT_TIME_LIMIT, time_limit=DRAFT_TIME_LIMIT)
def messages_draft_task(lead_ids: list[int], step: int = 1, campaign_id: int | None = None) -> int:
    start_by = drafting_start_by()  # from the task's start: its reads count against the window
    return len(messages_draft(lead_ids=lead_ids, step=step, campaign_id=campaign_id, start_by=start_by))


@shared_task(soft_time_limit=DRAFT_SOFT_TIME_LIMIT, time_limit=DRAFT_TIME_LIMIT)
def messages_fill_task(message_ids: list[int]) -> int:
    """Finish drafts left in `generating`: a regenerate request, the rest of a batch, a run that died midway."""
    return len(messages_fill(message_ids=message_ids, start_by=drafting_start_by()))


@shared_task
def drafts_release_stuck_task() -> int:
    return drafts_release_stuck(now=clock.now())


@shared_task
def outreach_send_next_task(account_id: int) -> str:
    # Never retried: a send that may have left must not go twice (the sweeper handles it).
    return outreach_send_next(account_id=account_id)


@shared_task
def outreach_dispatch_task() -> int:
    accounts_resume_due(now=clock.now())  # an automatic pause that has run out ends first
    return len(outreach_dispatch(now=clock.now()))


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
    return len(followups_draft_due(now=clock.now()))


@shared_task
def sends_mark_stuck_unknown_task() -> int:
    return sends_mark_stuck_unknown(now=clock.now())


def _linkedin_account_ids() -> list[int]:
    return list(
        SendingAccount.objects.filter(is_active=True, channel__in=SendingAccount.channels_for("message")).values_list(
            "pk", flat=True
        )
    )


@shared_task
def invitations_poll_all_task() -> int:
    """Acceptances: the webhook is the fast path, this the fallback (new_relation can trail by hours)."""
    return sum(relations_poll(account_id=account_id, now=clock.now()) for account_id in _linkedin_account_ids())


@shared_task
def invitations_withdraw_stale_task() -> int:
    return sum(invites_withdraw_stale(account_id=account_id, now=clock.now()) for account_id in _linkedin_account_ids())


@shared_task
def webhook_process_task(event_id: int) -> str:
    from outreach.webhooks import webhook_process  # the webhook module enqueues this task

    return webhook_process(event_id=event_id)


@shared_task
def webhooks_retry_unprocessed_task() -> int:
    from outreach.webhooks import webhooks_retry_unprocessed

    return webhooks_retry_unprocessed(now=clock.now())


@shared_task
def tasks_draft_due_task() -> int:
    return len(tasks_draft_due(now=clock.now()))


# Unipile unreachable or not answering yet right after the sign-in: it may work a little later.
# Until it does, the account's own id is asked for by the first message event (accounts.account_own_id).
@shared_task(autoretry_for=(ChannelUnavailable,), retry_backoff=30, retry_backoff_max=600, max_retries=8)
def linkedin_account_setup_task(account_id: int) -> str:
    from outreach.linkedin import linkedin_account_setup  # the connect service enqueues this task

    if not SendingAccount.objects.filter(pk=account_id, is_active=True).exists():
        return "gone"
    return linkedin_account_setup(account_id=account_id)
