"""Intent from activity: a person's recent LinkedIn posts, comments, reactions and job changes, read and kept.

Each read goes through one of the lead's campaign's LinkedIn accounts and takes profile views from that
account's daily budget (outreach.limits.profile_views_take_up_to): the views are taken before anything
is asked, and a person is read at most once a week (ACTIVITY_TTL). What was read is kept on the lead
(`activity`, `activity_read_at`); leads.scoring turns it into score reasons. People of LinkedIn
sources are read through Unipile, sandbox people through the sandbox's simulation, and a person with
no LinkedIn identity (no LinkedIn id, no profile URL) is never read.

Reads happen on a schedule (leads_activity_read_due) and lazily before a draft (outreach.services).
A failed read changes nothing: the lead keeps what it had, and is tried again on the next run.
"""

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q

from campaigns.models import Campaign
from leads import lifecycle
from leads.dedupe import linkedin_public_identifier
from leads.models import Activity, Lead
from leads.services import leads_rescore
from leads.sources.base import AccountUnusable, ActivityItem, ActivityKind, ActivityReader, SourceError
from leads.sources.sandbox import SandboxActivity
from leads.sources.unipile import UnipileActivity
from outreach.channels.unipile import NOT_CONFIGURED
from outreach.limits import in_window, profile_views_refund, profile_views_take_up_to
from outreach.models import SendingAccount

logger = logging.getLogger(__name__)

ACTIVITY_TTL = dt.timedelta(days=7)  # people post weekly at most; a fresher read spends views for nothing
DUE_BATCH = 10  # people an hourly run reads: the day's views spread over the working day, never in one burst
KEPT = 30  # items kept per person, newest first


@dataclass
class ReadRun:
    read: list[int] = field(default_factory=list)  # lead ids read
    no_identity: int = 0  # people with nothing to read by
    no_account: int = 0  # people whose campaign has no account that may read
    out_of_views: int = 0  # people left for tomorrow: their accounts used today's profile views
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def has_linkedin_identity(lead: Lead) -> bool:
    if lead.source == "sandbox":
        return bool(lead.provider_id or lead.linkedin_url)
    return bool(lead.provider_id or linkedin_public_identifier(lead.linkedin_url or ""))


def _readers() -> dict[bool, ActivityReader | None]:
    """By "is a sandbox person": sandbox people are simulated; everyone else is read through Unipile, when set up."""
    unipile = UnipileActivity()
    return {True: SandboxActivity(), False: unipile if unipile.client.configured else None}


def _accounts(lead: Lead, now: dt.datetime) -> list[SendingAccount]:
    """The campaign's healthy accounts that may read this person now, inside their working hours (visits at night
    are what LinkedIn flags as a bot): Unipile ones, or sandbox ones for sandbox people, whose simulated reads
    must not spend a real account's views."""
    channel = SendingAccount.Channel.SANDBOX if lead.source == "sandbox" else SendingAccount.Channel.UNIPILE
    accounts = [
        account
        for account in lead.campaign.sending_accounts.all()
        if account.channel == channel
        and account.is_active
        and account.health == SendingAccount.Health.OK
        and in_window(account, now)
    ]
    usable = [a for a in accounts if a.channel != SendingAccount.Channel.UNIPILE or a.provider_account_id]
    return sorted(usable, key=lambda account: account.pk)


def watched_posts(post_ids: set[str]) -> dict[str, tuple[str, str]]:
    """Which of these LinkedIn posts are ours or a watched competitor's: {post_id: ("ours" | "competitor", name)}."""
    from competitors.models import CompetitorPost
    from presence.models import Post

    if not post_ids:
        return {}
    owners = {}
    theirs = CompetitorPost.objects.filter(Q(provider_id__in=post_ids) | Q(social_id__in=post_ids))
    for provider_id, social_id, name in theirs.values_list("provider_id", "social_id", "competitor__name"):
        owners |= {post_id: ("competitor", name) for post_id in (provider_id, social_id) if post_id in post_ids}
    ours = Post.objects.filter(provider_post_id__in=post_ids).values_list("provider_post_id", flat=True)
    return owners | {post_id: ("ours", "") for post_id in ours}


def activity_merged(
    items: list[ActivityItem], previous: list[dict], now: dt.datetime, owners: dict[str, tuple[str, str]]
) -> list[dict]:
    """Newest first, with whose post each engagement was on (`owners`, from watched_posts), and undated
    reactions dated when first seen, so a reaction read again a week later is a week old, not new."""
    first_seen = {(p.get("kind"), p.get("post_id")): p.get("at") for p in previous if p.get("post_id")}
    merged = []
    for item in items:
        if not item.at and item.kind == ActivityKind.REACTION:
            seen = first_seen.get((item.kind, item.post_id)) or now.astimezone(dt.UTC).isoformat()
            item = dataclasses.replace(item, at=seen)
        if not item.about and item.post_id in owners and item.kind != ActivityKind.POST:
            about, who = owners[item.post_id]
            item = dataclasses.replace(item, about=about, who=who)
        merged.append(dataclasses.asdict(item))
    return sorted(merged, key=lambda item: item["at"], reverse=True)[:KEPT]


def _note(run: ReadRun, text: str) -> None:
    if text not in run.notes:
        run.notes.append(text)


class _Views:
    """Profile views reserved for this run, per account: taken once for everyone the run may read, so a batch costs
    a few queries per account, not per person; what is left is given back at the end."""

    def __init__(self, now: dt.datetime, wanted: int) -> None:
        self.now, self.wanted, self.left = now, wanted, {}

    def spend(self, account: SendingAccount, views: int) -> bool:
        if account.pk not in self.left:
            self.left[account.pk] = (account, profile_views_take_up_to(account, self.now, self.wanted))
        held = self.left[account.pk][1]
        if held < views:
            return False
        self.left[account.pk] = (account, held - views)
        return True

    def give_back(self) -> None:
        for account, held in self.left.values():
            if held:
                profile_views_refund(account, self.now, held)


def _read_one(
    lead: Lead, reader: ActivityReader | None, accounts: list[SendingAccount], views: _Views, run: ReadRun
) -> list[ActivityItem] | str:
    """What was read, or why not ('out_of_views', 'failed'); an account that cannot read leaves `accounts`."""
    if reader is None:
        _note(run, NOT_CONFIGURED)
        return "failed"
    for account in list(accounts):
        if not views.spend(account, reader.views_for(lead)):
            continue  # out of views today (what it holds is known: asking again costs no query)
        try:
            items = reader.read(account=account, lead=lead, now=views.now)
        except SourceError as exc:
            logger.warning("Activity of lead %s not read: %s", lead.pk, exc)
            _note(run, str(exc))
            if isinstance(exc, AccountUnusable):  # the next person would fail the same way, and spend views
                accounts.remove(account)
            return "failed"
        return items
    return "out_of_views"


@transaction.atomic
def _store(reads: list[tuple[Lead, list[dict]]], now: dt.datetime) -> None:
    for lead, activity in reads:
        lead.activity, lead.activity_read_at = activity, now
    Lead.objects.bulk_update([lead for lead, _ in reads], ["activity", "activity_read_at"])
    Activity.objects.bulk_create(
        Activity(
            lead=lead,
            campaign_id=lead.campaign_id,
            verb="lead.activity_read",
            payload={"items": len(activity), "kinds": sorted({item["kind"] for item in activity})},
        )
        for lead, activity in reads
    )


def leads_activity_read(*, lead_ids: list[int], now: dt.datetime) -> ReadRun:
    """Read the activity of these leads where it is missing or stale, in this order, within each account's
    profile views; then rescore the ones read."""
    stale = Lead.objects.filter(pk__in=lead_ids, campaign__isnull=False).exclude(
        activity_read_at__gt=now - ACTIVITY_TTL
    )
    # The campaign by prefetch: one object per campaign, its accounts read once (select_related made one
    # campaign object per lead, and the prefetch then filled each: 800 leads, 800 times).
    leads = list(stale.prefetch_related("campaign__sending_accounts"))
    position = {pk: i for i, pk in enumerate(lead_ids)}
    leads.sort(key=lambda lead: position[lead.pk])  # the budget may end the run early: the first come first
    readable = [lead for lead in leads if has_linkedin_identity(lead)]
    run, usable, reads = ReadRun(no_identity=len(leads) - len(readable)), {}, []
    readers = _readers()
    wanted = sum(reader.views_for(lead) for lead in readable if (reader := readers[lead.source == "sandbox"]))
    views = _Views(now, wanted=wanted)
    try:
        for lead in readable:
            key = (lead.campaign_id, lead.source == "sandbox")
            if key not in usable:
                usable[key] = _accounts(lead, now)
            if not usable[key]:
                run.no_account += 1
                continue
            outcome = _read_one(lead, readers[lead.source == "sandbox"], usable[key], views, run)
            if isinstance(outcome, list):
                reads.append((lead, outcome))
            elif outcome == "failed":
                run.failed += 1
            else:
                run.out_of_views += 1
    finally:
        views.give_back()  # whatever happened, views not spent go back to the day
    if reads:
        owners = watched_posts({item.post_id for _, items in reads for item in items if item.post_id})  # one query
        _store([(lead, activity_merged(items, lead.activity or [], now, owners)) for lead, items in reads], now)
        run.read = [lead.pk for lead, _ in reads]
        leads_rescore(lead_ids=run.read, now=now)
    return run


def leads_activity_read_due(*, now: dt.datetime) -> ReadRun:
    """The schedule: live leads of active campaigns never read or read over a week ago, best first."""
    due = (
        Lead.objects.filter(
            status__in=lifecycle.RESCORED, campaign__isnull=False, campaign__status=Campaign.Status.ACTIVE
        )
        .exclude(activity_read_at__gt=now - ACTIVITY_TTL)
        .exclude(provider_id="", linkedin_url__isnull=True)
        .exclude(provider_id="", linkedin_url="")
        .order_by(F("activity_read_at").asc(nulls_first=True), F("score").desc(nulls_last=True), "pk")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    return leads_activity_read(lead_ids=list(due), now=now)
