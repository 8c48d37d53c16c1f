"""Every write of the competitor watch: reading posts within the budget, the weekly summary, counter-moves."""

import datetime as dt
import logging
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import F

from campaigns.models import Campaign
from competitors.budget import read_take
from competitors.models import Competitor, CompetitorPost, CompetitorSummary
from competitors.readers import ReadFailed, reader_for
from competitors.summaries import grounded_points, summarise_week
from leads.services import activity_record, prospect_store
from library.models import ContentItem
from outreach.models import SendingAccount
from salesdept import clock

log = logging.getLogger(__name__)
SUMMARY_POSTS = 12  # the week's newest posts the model reads; more would cost without saying more
WHY_LINE = "Engaged with {name}'s post"
ANGLE_POSTS = 20  # their recent posts an angle is matched against
NO_ACCOUNT = "No healthy LinkedIn account to read with: connect one on your profile page, or resume a paused one."


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def reading_accounts() -> list[SendingAccount]:
    """Healthy LinkedIn-capable accounts, LinkedIn first: the sandbox reads only where no LinkedIn is connected."""
    accounts = SendingAccount.objects.filter(
        is_active=True,
        health=SendingAccount.Health.OK,
        channel__in=[SendingAccount.Channel.UNIPILE, SendingAccount.Channel.SANDBOX],
    ).order_by("pk")
    linkedin = [a for a in accounts if a.channel == SendingAccount.Channel.UNIPILE]
    return linkedin or list(accounts)


@dataclass
class ReadRun:
    read: int = 0
    stored: int = 0
    out_of_budget: int = 0
    failed: int = 0


def _store_posts(competitor: Competitor, posts, now: dt.datetime) -> int:
    """Insert new posts once; refresh the counters of those already kept. Returns how many are new."""
    new = 0
    for post in posts:
        _, created = CompetitorPost.objects.update_or_create(
            competitor=competitor,
            provider_id=post.provider_id,
            defaults={"reactions": post.reactions, "comments": post.comments, "read_at": now},
            create_defaults={
                "social_id": post.social_id,
                "url": post.url,
                "text": post.text,
                "posted_at": post.posted_at,
                "reactions": post.reactions,
                "comments": post.comments,
                "read_at": now,
            },
        )
        new += created
    return new


def competitors_read(*, now: dt.datetime | None = None) -> ReadRun:
    """Read each active competitor's recent posts: one read each, taken from a reading account's daily budget.

    When every account's budget is spent the rest wait for tomorrow (nothing is read past it); a read that
    fails is kept on the competitor for the page and the others are still read.
    """
    now = now or clock.now()
    run, accounts = ReadRun(), reading_accounts()
    if not accounts:  # say so on the page rather than read nothing quietly
        Competitor.objects.filter(is_active=True).update(read_error=NO_ACCOUNT)
        return run
    for competitor in Competitor.objects.filter(is_active=True).order_by(F("last_read_at").asc(nulls_first=True)):
        account = next((a for a in accounts if read_take(a, now)), None)
        if account is None:
            run.out_of_budget += 1
            continue
        try:
            posts = reader_for(account, now=now).posts(competitor, account)
        except ReadFailed as exc:
            run.failed += 1
            Competitor.objects.filter(pk=competitor.pk).update(read_error=str(exc)[:300])
            continue
        run.read += 1
        run.stored += _store_posts(competitor, posts, now)
        Competitor.objects.filter(pk=competitor.pk).update(last_read_at=now, read_error="")
    return run


def _week_posts(competitor: Competitor, start: dt.date) -> list[CompetitorPost]:
    begin = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    return list(
        competitor.posts.filter(posted_at__gte=begin, posted_at__lt=begin + dt.timedelta(days=7)).order_by(
            "-posted_at"
        )[:SUMMARY_POSTS]
    )


def competitor_summarise(*, competitor: Competitor, day: dt.date) -> CompetitorSummary | None:
    """The week's summary of what the competitor pushed (the week holding `day`), rewritten from its posts.

    Only points whose cited posts hold what they say are shown; the others are kept as flagged.
    """
    start = week_start(day)
    posts = _week_posts(competitor, start)
    if not posts:
        return None
    refs = [
        {"ref": f"P{i}", "pk": post.pk, "text": post.text, "date": post.posted_at.date().isoformat()}
        for i, post in enumerate(posts, 1)
    ]
    given = [{key: ref[key] for key in ("ref", "text", "date")} for ref in refs]  # the model sees no pks
    result = summarise_week(competitor=competitor.name, posts=given)
    shown, flagged = grounded_points(result.value, posts=refs, competitor=competitor.name)
    summary, _ = CompetitorSummary.objects.update_or_create(
        competitor=competitor,
        week_start=start,
        defaults={
            "points": shown,
            "flagged": flagged,
            "written_by": result.generated_by[:100],
            "llm_call": result.call,
        },
    )
    return summary


def competitors_summarise(*, now: dt.datetime | None = None) -> int:
    """The week so far, for each competitor; and last week's once more if it was written before the week ended."""
    now = now or clock.now()
    today, last_week = now.astimezone(dt.UTC).date(), week_start(now.astimezone(dt.UTC).date()) - dt.timedelta(days=7)
    week_end = dt.datetime.combine(last_week + dt.timedelta(days=7), dt.time(0), tzinfo=dt.UTC)
    finished = set(
        CompetitorSummary.objects.filter(week_start=last_week, updated_at__gte=week_end).values_list(
            "competitor_id", flat=True
        )
    )
    written = 0
    for competitor in Competitor.objects.filter(is_active=True):
        if competitor.pk not in finished:
            competitor_summarise(competitor=competitor, day=last_week)
        written += bool(competitor_summarise(competitor=competitor, day=today))
    return written


# -- Counter-moves ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Angle:
    competitor: Competitor
    text: str
    fact: str
    source: ContentItem


def _words(text: str) -> set[str]:
    return {word.lower()[:6] for word in text.split() if len(word) > 3}


def library_facts() -> list[tuple[str, ContentItem]]:
    """Every fact of the active library items, as written, with the item it comes from."""
    facts = []
    for item in ContentItem.objects.filter(is_active=True).order_by("pk"):
        facts += [(fact, item) for fact in (" ".join(str(f).split()) for f in item.facts or []) if fact]
    return facts


def _angle(competitor: Competitor, post_texts: list[str], facts: list[tuple[str, ContentItem]]) -> Angle | None:
    theirs = _words(" ".join(post_texts))
    best: tuple[int, str, ContentItem] | None = None
    for fact, item in facts:
        overlap = len(_words(fact) & theirs)
        if best is None or overlap > best[0]:
            best = (overlap, fact, item)
    if best is None:
        return None
    _, fact, item = best
    text = f"Unlike {competitor.name}, we can show this: {fact}"
    return Angle(competitor=competitor, text=text, fact=fact, source=item)


def competitor_angle(*, competitor: Competitor) -> Angle | None:
    """ "Unlike <them>, we …" from one of our library's facts, the one nearest what they post about.

    Only a fact from an active library item is ever used, as written: no library fact, no angle.
    """
    texts = list(competitor.posts.values_list("text", flat=True)[:ANGLE_POSTS])
    return _angle(competitor, texts, library_facts())


def counter_angles() -> list[Angle]:
    """One angle per watched competitor, for a campaign's page to offer into its brief (three queries in all)."""
    facts = library_facts()
    if not facts:
        return []
    competitors = list(Competitor.objects.filter(is_active=True))
    texts: dict[int, list[str]] = {c.pk: [] for c in competitors}
    since = clock.now() - dt.timedelta(days=30)
    for competitor_id, text in CompetitorPost.objects.filter(
        competitor__in=competitors, posted_at__gte=since
    ).values_list("competitor_id", "text"):
        texts[competitor_id].append(text)
    return [angle for c in competitors if (angle := _angle(c, texts[c.pk][:ANGLE_POSTS], facts))]


class AngleError(Exception):
    pass


@transaction.atomic
def campaign_add_angle(*, campaign: Campaign, competitor: Competitor, actor) -> str:
    """Put the competitor's counter-move angle into the campaign's brief (its value points), once."""
    angle = competitor_angle(competitor=competitor)
    if angle is None:
        raise AngleError("Our content library has no facts yet: add some before using a counter-move angle.")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if angle.text in campaign.value_points:
        raise AngleError("That angle is already in this campaign's brief.")
    campaign.value_points = [*campaign.value_points, angle.text]
    campaign.save(update_fields=["value_points"])
    activity_record(
        verb="campaign.angle_added",
        campaign=campaign,
        actor=actor,
        competitor=competitor.name,
        angle=angle.text,
        library_item=angle.source.pk,
    )
    return angle.text


@dataclass
class EngagerRun:
    read: int = 0
    leads: int = 0
    enrolled: int = 0
    skipped: int = 0
    out_of_budget: bool = False
    error: str = ""
    lead_ids: list[int] = field(default_factory=list)  # the new leads, for qualification


def competitor_engagers_to_leads(
    *, competitor: Competitor, campaign: Campaign, limit: int | None = None, now: dt.datetime | None = None
) -> EngagerRun:
    """People who reacted to the competitor's recent posts become leads of `campaign`, deduped, within limits.

    One read per post (its reactions), taken from the daily budget; each post is read once. At most
    `limit` (the campaign's daily lead quota) people are taken; a person we know joins the campaign
    instead of becoming a second lead.
    """
    now = now or clock.now()
    limit = campaign.daily_lead_quota if limit is None else limit
    run, accounts = EngagerRun(), reading_accounts()
    if not accounts:
        run.error = NO_ACCOUNT
        Competitor.objects.filter(pk=competitor.pk).update(read_error=NO_ACCOUNT)
        return run
    since = now - dt.timedelta(days=14)
    posts = competitor.posts.filter(engagers_read_at__isnull=True, posted_at__gte=since, reactions__gt=0)
    for post in posts.order_by("-posted_at"):
        if run.leads + run.enrolled >= limit:
            break
        account = next((a for a in accounts if read_take(a, now)), None)
        if account is None:
            run.out_of_budget = True
            break
        try:
            people = reader_for(account, now=now).reactions(post, account)
        except ReadFailed as exc:
            run.error = str(exc)
            Competitor.objects.filter(pk=competitor.pk).update(read_error=f"Reading who engaged: {exc}"[:300])
            break
        run.read += 1
        CompetitorPost.objects.filter(pk=post.pk).update(engagers_read_at=now)
        for person in people:
            if run.leads + run.enrolled >= limit:
                break
            _engager_store(person=person, campaign=campaign, competitor=competitor, post=post, run=run)
    return run


def _engager_store(*, person, campaign: Campaign, competitor: Competitor, post: CompetitorPost, run: EngagerRun):
    why = WHY_LINE.format(name=competitor.name)
    # Their activity, first: qualification's why-line (model or template) reads a lead's recent activity.
    raw = {**person.raw, "recent_posts": [why, *person.raw.get("recent_posts", [])], "engaged_with": post.url}
    stored = prospect_store(campaign=campaign, prospect=replace(person, raw=raw), source="competitor_engagement")
    lead = stored.lead or stored.enrolled
    if lead is None:
        run.skipped += 1
        return
    if stored.lead:
        run.leads += 1
        run.lead_ids.append(lead.pk)
        lead.insight = why[:300]  # until qualification writes the full line
        lead.save(update_fields=["insight"])
    else:
        run.enrolled += 1
    activity_record(
        verb="lead.engaged_competitor", lead=lead, campaign=campaign, competitor=competitor.name, post=post.url
    )
