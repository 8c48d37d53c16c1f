"""Keeping the daily counts: each funnel milestone and event adds to its day's row as it happens.

Called with every Activity written (leads.services.activity_record, and in bulk by the CSV
import) and every model call logged. A lead reaches each stage once (a unique LeadMilestone),
so the counts are people, like the funnel, however often a stage's event repeats. Increments
are single upserts on one row each, safe with any number of workers. An event that takes a stage
back (an approval undone: leads.verbs.TAKES_BACK) takes the lead out of it again, and a rebuild
ignores what was taken back, so live counts and rebuilt ones agree.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, F, IntegerField, Min, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from leads.models import Activity, Lead
from leads.verbs import FUNNEL_STAGE_OF, SEND_ERRORS, TAKES_BACK
from outreach.models import OutreachMessage
from reporting.models import DailyCount, LeadMilestone
from salesdept import clock
from salesdept.db import analyze
from salesdept.models import LLMCall

# The verbs that mark a funnel stage, and the send errors: the verb registry says which.
STAGE_OF = FUNNEL_STAGE_OF
# Stages reached through a message: their counts carry its account and version.
MESSAGE_STAGES = {"drafted", "approved", "sent", "accepted", "replied", "positive"}
# Stages a person reaches after answering (a meeting booked, a deal won): no message of their own, so
# they carry the account and version of the message the person replied to, the one that converted.
# A meeting booked before any reply carries none.
REPLY_ATTRIBUTED = {"meeting", "won"}


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# One statement each, no savepoint: the send path pays two statements for its milestone, not five.
# ON CONFLICT upserts work alike on PostgreSQL and SQLite (3.24+; RETURNING 3.35+).
_BUMP = """
    INSERT INTO reporting_dailycount
        (day, stage, campaign_id, rep_id, account_id, label, version, count, cost_usd)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (day, stage, campaign_id, rep_id, account_id, label, version) DO UPDATE SET
        count = reporting_dailycount.count + excluded.count,
        cost_usd = reporting_dailycount.cost_usd + excluded.cost_usd
"""
_MILESTONE = """
    INSERT INTO reporting_leadmilestone (lead_id, stage, reached_at, activity_id) VALUES (%s, %s, %s, %s)
    ON CONFLICT (lead_id, stage) DO NOTHING RETURNING id
"""

# Many at once, saying which were first: (lead_id, stage) of each row inserted.
_MILESTONES = """
    INSERT INTO reporting_leadmilestone (lead_id, stage, reached_at, activity_id) VALUES {values}
    ON CONFLICT (lead_id, stage) DO NOTHING RETURNING lead_id, stage
"""


def bump(
    *,
    day: dt.date,
    stage: str,
    n: int = 1,
    cost: Decimal = Decimal(0),
    campaign_id: int = 0,
    rep_id: int = 0,
    account_id: int = 0,
    label: str = "",
    version: str = "",
) -> None:
    """Add to one day's count, creating its row the first time (safe with concurrent workers)."""
    with connection.cursor() as cursor:
        cursor.execute(_BUMP, [day, stage, campaign_id, rep_id, account_id, label, version, n, cost])


# Take one from a day's row of a stage: the row with the lead's dimensions when there is one (they
# may have changed since: an owner, a label), else another of that day and stage. Never below 0;
# a row left at 0 goes, as a rebuild would not write it.
_UNBUMP = """
    UPDATE reporting_dailycount SET count = count - 1 WHERE count > 0 AND id = (
        SELECT id FROM reporting_dailycount WHERE day = %s AND stage = %s AND count > 0
        ORDER BY (campaign_id = %s) DESC, (rep_id = %s) DESC, (account_id = %s) DESC,
            (label = %s) DESC, (version = %s) DESC, id
        LIMIT 1
    )
"""
_DROP_EMPTY = "DELETE FROM reporting_dailycount WHERE day = %s AND stage = %s AND count = 0"


def _unbump(
    *, day: dt.date, stage: str, campaign_id: int, rep_id: int, account_id: int, label: str, version: str
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_UNBUMP, [day, stage, campaign_id, rep_id, account_id, label, version])
        cursor.execute(_DROP_EMPTY, [day, stage])


def _first_time(lead_id: int, stage: str, activity: Activity) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_MILESTONE, [lead_id, stage, activity.created_at, activity.pk])
        return cursor.fetchone() is not None


def _dims(activity: Activity, lead: Lead | None) -> dict:
    message = activity.message if activity.message_id else None
    return {
        "campaign_id": activity.campaign_id or (lead.campaign_id if lead else None) or 0,
        "rep_id": (lead.owner_id if lead else None) or 0,
        "account_id": (message.account_id if message else None) or 0,
        "label": (lead.label if lead else "")[:50],
        "version": (message.generated_by if message else "")[:100],
    }


def standing(activities: QuerySet[Activity], stage: str) -> QuerySet[Activity]:
    """The events of `stage` that no later event of the same message took back."""
    takers = [verb for verb, taken in TAKES_BACK.items() if taken == stage]
    if not takers:
        return activities
    later = Activity.objects.filter(verb__in=takers, message_id=OuterRef("message_id"), pk__gt=OuterRef("pk"))
    return activities.filter(~Exists(later))


def _take_back(activity: Activity, stage: str, lead: Lead) -> None:
    """The lead leaves `stage` if this message's event was the one counted; another of its messages
    that still stands there counts instead, from its own day."""
    milestone = LeadMilestone.objects.filter(lead=lead, stage=stage).select_related("activity__message").first()
    if milestone is None or milestone.activity is None or milestone.activity.message_id != activity.message_id:
        return  # not counted through this message: the stage stands
    _unbump(day=local_day(milestone.reached_at), stage=stage, **_dims(milestone.activity, lead))
    milestone.delete()
    verbs = [verb for verb, of in STAGE_OF.items() if of == stage]
    other = standing(Activity.objects.filter(lead=lead, verb__in=verbs), stage).order_by("pk").first()
    if other is not None and _first_time(lead.pk, stage, other):
        bump(day=local_day(other.created_at), stage=stage, **_dims(other, lead))


def metrics_record(activity: Activity) -> None:
    """Count one activity: a first milestone, a stage taken back, or a send error."""
    stage = STAGE_OF.get(activity.verb)
    taken_back = TAKES_BACK.get(activity.verb)
    if stage is None and taken_back is None and activity.verb not in SEND_ERRORS:
        return
    lead = activity.lead if activity.lead_id else (activity.message.lead if activity.message_id else None)
    if taken_back is not None:
        if lead is not None and activity.message_id:
            _take_back(activity, taken_back, lead)
        return
    if stage is None:
        bump(day=local_day(activity.created_at), stage="send_error", **_dims(activity, lead))
        return
    if lead is None or not _first_time(lead.pk, stage, activity):
        return  # reached before: counted then
    dims = _dims(activity, lead)
    if stage in REPLY_ATTRIBUTED and not activity.message_id:
        dims |= _replied_to(lead)
    bump(day=local_day(activity.created_at), stage=stage, **dims)


def metrics_record_many(activities: list[Activity]) -> None:
    """Count a batch of activities as metrics_record would, in a few statements for the batch.

    The batch's first milestones go in one insert that says which were first, and each day's
    count moves once per row it touches. An event that takes a stage back makes the order
    matter, so a batch holding one is counted one by one; so are send errors and reply-attributed
    stages without a message (each needs its own read).
    """
    if any(activity.verb in TAKES_BACK for activity in activities):
        for activity in activities:
            metrics_record(activity)
        return
    firsts: dict[tuple[int, str], tuple[Activity, Lead]] = {}
    later = []  # after the batch's milestones: a meeting's attribution reads the reply's
    for activity in activities:
        stage = STAGE_OF.get(activity.verb)
        lead = activity.lead if activity.lead_id else (activity.message.lead if activity.message_id else None)
        if stage is None or lead is None or (stage in REPLY_ATTRIBUTED and not activity.message_id):
            later.append(activity)
        else:
            firsts.setdefault((lead.pk, stage), (activity, lead))
    counted = Counter()
    for chunk in _chunks(list(firsts.items()), 500):
        rows = [(lead_id, stage, activity.created_at, activity.pk) for (lead_id, stage), (activity, _) in chunk]
        with connection.cursor() as cursor:
            values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
            cursor.execute(_MILESTONES.format(values=values), [value for row in rows for value in row])
            for key in cursor.fetchall():
                activity, lead = firsts[tuple(key)]
                counted[(local_day(activity.created_at), key[1], *_dims(activity, lead).items())] += 1
    for (day, stage, *dims), n in counted.items():
        bump(day=day, stage=stage, n=n, **dict(dims))
    for activity in later:
        metrics_record(activity)


def _chunks(items: list, size: int):
    return (items[start : start + size] for start in range(0, len(items), size))


def _replied_to(lead: Lead) -> dict:
    """The account and version of the message the lead replied to (their "replied" milestone's)."""
    replied = (
        LeadMilestone.objects.filter(lead=lead, stage="replied")
        .values_list("activity__message__account_id", "activity__message__generated_by")
        .first()
    )
    account_id, version = replied or (None, None)
    return {"account_id": account_id or 0, "version": (version or "")[:100]}


def metrics_record_found(activities: Iterable[Activity], *, new_leads: bool = False) -> None:
    """Count leads stored in bulk (an import): a few statements in all, not per lead.

    `new_leads`: the leads were created in this transaction, so none can have a milestone yet.
    """
    activities = [a for a in activities if STAGE_OF.get(a.verb) == "found"]
    if not activities:
        return
    known = set()
    if not new_leads:
        ids = [a.lead_id for a in activities]
        known = set(LeadMilestone.objects.filter(lead_id__in=ids, stage="found").values_list("lead_id", flat=True))
    new = [a for a in activities if a.lead_id not in known]
    LeadMilestone.objects.bulk_create(
        [
            LeadMilestone(lead_id=a.lead_id, stage="found", reached_at=a.created_at or clock.now(), activity_id=a.pk)
            for a in new
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    per_day = Counter((local_day(a.created_at or clock.now()), a.campaign_id or 0) for a in new)
    for (day, campaign_id), n in per_day.items():
        bump(day=day, stage="found", n=n, campaign_id=campaign_id)


def metrics_record_llm_calls(calls) -> None:
    """Model calls and their cost, per day and campaign."""
    per_day: dict[tuple[dt.date, int], list] = {}
    for call in calls:
        key = (local_day(call.created_at or clock.now()), call.campaign_id or 0)
        total = per_day.setdefault(key, [0, Decimal(0)])
        total[0] += 1
        total[1] += call.cost_usd or Decimal(0)
    for (day, campaign_id), (n, cost) in per_day.items():
        bump(day=day, stage="llm", n=n, cost=cost, campaign_id=campaign_id)


def metrics_rebuild() -> dict[str, int]:
    """Recompute every milestone and daily count from the activity log and the model-call log.

    For an install whose history predates the counts, or to check them. A rebuilt row takes the
    lead's campaign, owner and label as they are now (the live counts take them as they were),
    and the account and version of the message of the lead's first event of that stage that was
    not taken back (an approval undone counts for nobody, as it does live); a meeting or a win, those
    of the message the lead had replied to by then (REPLY_ATTRIBUTED). A few
    grouped queries per stage, in one transaction; returns the rows written per table.
    """
    day = {"tzinfo": timezone.get_current_timezone()}
    stages = list(dict.fromkeys(STAGE_OF.values()))
    with transaction.atomic():
        DailyCount.objects.all().delete()
        LeadMilestone.objects.all().delete()
        # Run after a bulk load or a restore: plans from stale statistics can take hours here.
        analyze(Activity, Lead, OutreachMessage, LLMCall)
        for stage in stages:
            verbs = [verb for verb, of in STAGE_OF.items() if of == stage]
            firsts = (
                standing(Activity.objects.filter(verb__in=verbs, lead__isnull=False), stage)
                .values("lead_id")
                .annotate(stage=Value(stage), at=Min("created_at"), first=Min("pk"))
                .values_list("lead_id", "stage", "at", "first")
                .order_by()
            )
            # The lowest id stands for the first event: ids grow with time (a tie in time is rare).
            _insert_select(LeadMilestone, ["lead_id", "stage", "reached_at", "activity_id"], firsts)
        analyze(LeadMilestone)  # millions of rows written above, read by every count below
        for stage in stages:
            if stage in MESSAGE_STAGES:  # the account and version of the message of the first event
                account, version = F("activity__message__account_id"), F("activity__message__generated_by")
            elif stage in REPLY_ATTRIBUTED:  # those of the message replied to before, as counted live
                replied = LeadMilestone.objects.filter(
                    lead_id=OuterRef("lead_id"), stage="replied", reached_at__lte=OuterRef("reached_at")
                )
                account = Subquery(replied.values("activity__message__account_id")[:1])
                version = Subquery(replied.values("activity__message__generated_by")[:1])
            else:
                account, version = Value(0), Value("")
            rows = LeadMilestone.objects.filter(stage=stage).values(
                on=TruncDate("reached_at", **day),
                campaign_key=Coalesce("lead__campaign_id", Value(0), output_field=IntegerField()),
                rep_key=Coalesce("lead__owner_id", Value(0), output_field=IntegerField()),
                label_key=Coalesce("lead__label", Value("")),
                account_key=Coalesce(account, Value(0), output_field=IntegerField()),
                version_key=Coalesce(version, Value("")),
            )
            _write_counts(stage, rows.annotate(n=Count("pk"), cost=Value(0)))
        errors = Activity.objects.filter(verb__in=SEND_ERRORS).values(
            on=TruncDate("created_at", **day),
            campaign_key=Coalesce("campaign_id", Value(0), output_field=IntegerField()),
            rep_key=Coalesce("lead__owner_id", Value(0), output_field=IntegerField()),
            label_key=Coalesce("lead__label", Value("")),
            account_key=Coalesce("message__account_id", Value(0), output_field=IntegerField()),
            version_key=Coalesce("message__generated_by", Value("")),
        )
        _write_counts("send_error", errors.annotate(n=Count("pk"), cost=Value(0)))
        calls = LLMCall.objects.values(
            on=TruncDate("created_at", **day),
            campaign_key=Coalesce("campaign_id", Value(0), output_field=IntegerField()),
            rep_key=Value(0),
            label_key=Value(""),
            account_key=Value(0),
            version_key=Value(""),
        )
        _write_counts("llm", calls.annotate(n=Count("pk"), cost=Sum("cost_usd")))
        analyze(DailyCount)
    return {"milestones": LeadMilestone.objects.count(), "daily_counts": DailyCount.objects.count()}


def _insert_select(model, columns: list[str], rows) -> None:
    """INSERT … SELECT: the database copies the rows; none travels through Python."""
    select, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", params)  # noqa: S608 (our own query)


def _write_counts(stage: str, grouped) -> None:
    """The grouped rows (on, *_key, n, cost) written as the stage's DailyCount rows, by the database."""
    rows = grouped.annotate(stage_key=Value(stage)).values_list(
        "on", "stage_key", "campaign_key", "rep_key", "account_key", "label_key", "version_key", "n", "cost"
    )
    columns = ["day", "stage", "campaign_id", "rep_id", "account_id", "label", "version", "count", "cost_usd"]
    _insert_select(DailyCount, columns, rows.order_by())
