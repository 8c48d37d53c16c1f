"""Every periodic job, declared once. `manage.py sync_schedules` writes them to django-celery-beat.

No job per account or recipient: a frequent tick finds who is due, in their own timezone.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minutes: int
    why: str


SCHEDULES = [
    Schedule(
        "heartbeat",
        "salesdept.tasks.heartbeat_task",
        1,
        "Proves beat, broker and a worker run; /healthz reads its time.",
    ),
    Schedule(
        "alerts",
        "reporting.tasks.alerts_check_task",
        5,
        "Managers hear once when send errors climb, an account stops, drafts wait a day or the model budget runs low.",
    ),
    Schedule(
        "send-dispatch",
        "outreach.tasks.outreach_dispatch_task",
        1,
        "Approved messages wait in the database; each open account sends its next one.",
    ),
    Schedule(
        "poll-replies",
        "outreach.tasks.outreach_poll_all_task",
        5,
        "Replies drive the lead; polling backs up webhooks with an overlapping window.",
    ),
    Schedule(
        "sweep-stuck-sends",
        "outreach.tasks.sends_mark_stuck_unknown_task",
        5,
        "A send that never finished becomes `unknown` for a person, never resent blindly.",
    ),
    Schedule(
        "release-stuck-drafts",
        "outreach.tasks.drafts_release_stuck_task",
        5,
        "A draft whose worker died while writing it goes back to its rep instead of staying `generating` for ever.",
    ),
    Schedule(
        "webhook-deliveries",
        "hooks.tasks.deliveries_due_task",
        1,
        "Outbound webhook deliveries wait in the database: retries come due, a lost first try is picked up.",
    ),
    Schedule(
        "retry-webhooks",
        "outreach.tasks.webhooks_retry_unprocessed_task",
        15,
        "A provider event whose task was lost or crashed is processed again (stored events are never dropped).",
    ),
    Schedule(
        "poll-invitations",
        "outreach.tasks.invitations_poll_all_task",
        30,
        "Accepted invitations let the sequence go on; polling backs up the new_relation webhook.",
    ),
    Schedule(
        "withdraw-stale-invitations",
        "outreach.tasks.invitations_withdraw_stale_task",
        24 * 60,
        "Invitations pending for weeks clog the weekly quota: withdraw them.",
    ),
    Schedule(
        "follow-ups",
        "outreach.tasks.followups_draft_due_task",
        60,
        "No reply after a step's delay: draft the next step for approval.",
    ),
    Schedule(
        "draft-due-tasks",
        "outreach.tasks.tasks_draft_due_task",
        5,
        'A rep\'s task on a lead ("follow up next Tuesday about...") becomes a draft in their queue on its day.',
    ),
    Schedule(
        "wake-snoozed",
        "leads.tasks.leads_wake_snoozed_task",
        60,
        "A lead snoozed until a date goes back to work, and its drafts back to the queue, on that date.",
    ),
    Schedule(
        "sheets-sync",
        "leads.tasks.sheets_sync_all_task",
        60,
        "Managers read campaigns in their Google Sheets: each enabled sheet gets its leads upserted.",
    ),
    Schedule(
        "find-leads",
        "campaigns.tasks.campaigns_find_leads_task",
        24 * 60,
        "Each active campaign looks for its daily quota of new leads.",
    ),
    Schedule(
        "fail-stale-imports",
        "leads.tasks.imports_fail_stale_task",
        15,
        "A CSV import whose worker died (nothing was stored) is marked failed, so the person can retry.",
    ),
    Schedule(
        "read-lead-activity",
        "leads.tasks.leads_activity_read_due_task",
        60,
        "Live leads' LinkedIn posts, comments and job changes are read weekly, a few an hour within profile views.",
    ),
    Schedule(
        "rescore-leads",
        "leads.tasks.leads_rescore_task",
        24 * 60,
        "Replies, acceptances, silence and posts on the campaign's topics move each live lead's score.",
    ),
    Schedule(
        "allocate",
        "campaigns.tasks.campaigns_allocate_task",
        24 * 60,
        "Qualified leads left without a rep get one, within capacity.",
    ),
    Schedule(
        "privacy-retention",
        "leads.tasks.privacy_purge_task",
        24 * 60,
        "Old raw profiles and message texts are emptied after RETENTION_*_DAYS (GDPR storage limitation).",
    ),
    Schedule(
        "competitors-read",
        "competitors.tasks.competitors_read_task",
        6 * 60,
        "Competitors' recent posts are read a few times a day, within each reading account's daily read budget.",
    ),
    Schedule(
        "competitors-summarise",
        "competitors.tasks.competitors_summarise_task",
        24 * 60,
        "The week so far is summarised per competitor, grounded in their posts, for the page and the daily report.",
    ),
    Schedule(
        "daily-reports",
        "reporting.tasks.reports_send_due_task",
        15,
        "Each manager gets yesterday's report at their own time in their own timezone, once.",
    ),
    Schedule(
        "suggest-posts",
        "presence.tasks.posts_suggest_due_task",
        60,
        "Weekly (POSTS_SUGGEST_WEEKDAY, _HOUR UTC): posts suggested for the company page and opted-in reps.",
    ),
    Schedule(
        "publish-posts",
        "presence.tasks.posts_dispatch_task",
        1,
        "Approved posts wait in the database for their time; each is published once, inside its account's hours.",
    ),
    Schedule(
        "sweep-stuck-posts",
        "presence.tasks.posts_mark_stuck_unknown_task",
        5,
        "A publish that never finished becomes `unknown` for a person, never published again blindly.",
    ),
    Schedule(
        "read-post-results",
        "presence.tasks.posts_read_results_task",
        60,
        "Reactions and comments on our recent posts are read back; people who engage become leads.",
    ),
    Schedule(
        "suggest-nurturing",
        "library.tasks.nurtures_suggest_due_task",
        60,
        "Weekly (NURTURE_WEEKDAY, _HOUR UTC): one useful touch for each quiet connected, met or won contact.",
    ),
    Schedule(
        "crm-sync",
        "crm.tasks.crm_sync_all_task",
        15,
        "Each connected CRM gets what changed here (people, deals, messages) and gives back its deal stage moves.",
    ),
]
