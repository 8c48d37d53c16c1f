"""Results of our posts: who reacted and commented, read back on a schedule; engagers become leads.

Each person is one Engagement row per post and kind (read twice, stored once). A person becomes
a lead of the post's chosen campaign through leads.services.prospect_store, so someone we know
already is never a second lead. A commenter is named by id only: reading their profile is a
profile view, taken from the account's daily limit first; past it, they wait for tomorrow.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction

from leads.services import activity_record, prospect_store
from leads.sources.base import Prospect
from leads.tasks import leads_qualify_task
from outreach.channels.base import ChannelUnavailable
from outreach.limits import profile_view_take
from presence.channels import Engager, post_channel_for
from presence.models import Engagement, Post

log = logging.getLogger(__name__)
SOURCE = "post_engagement"
WAITING_FOR_VIEW = "Waits for a profile view (today's are used up)"
WHY = "Engaged with our post"


def posts_read_results(*, now: dt.datetime) -> int:
    """Every recently published post's new engagements; a provider that fails is tried again next hour."""
    since = now - dt.timedelta(days=settings.POSTS_RESULTS_DAYS)
    posts = (
        Post.objects.filter(status=Post.Status.PUBLISHED, published_at__gte=since)
        .exclude(provider_post_id="")
        .select_related("account", "campaign", "content_item")
    )
    total = 0
    for post in posts:
        try:
            total += post_read_results(post=post, now=now)
        except ChannelUnavailable as exc:
            log.warning("results of post %s not read: %s", post.pk, exc)
    return total


def post_read_results(*, post: Post, now: dt.datetime) -> int:
    """Store who engaged with `post` and turn new engagers into leads. Returns the new engagements."""
    channel = post_channel_for(post.account.channel)
    new = 0
    for engager in channel.engagers(post):
        engagement, created = Engagement.objects.get_or_create(
            post=post,
            kind=engager.kind,
            person_provider_id=engager.provider_id,
            defaults={
                "name": engager.name[:200],
                "headline": engager.headline[:300],
                "profile_url": engager.profile_url[:500],
                "value": engager.value,
            },
        )
        new += created
        if engagement.lead_id is None and engagement.outcome in ("", WAITING_FOR_VIEW):
            _to_lead(post=post, engagement=engagement, engager=engager, channel=channel, now=now)
    Post.objects.filter(pk=post.pk).update(results_read_at=now)
    return new


def _to_lead(*, post: Post, engagement: Engagement, engager: Engager, channel, now: dt.datetime) -> None:
    if post.campaign_id is None:
        return _outcome(engagement, "No campaign chosen for this post's engagers")
    if engager.is_company:
        return _outcome(engagement, "A company page, not a person")
    if engager.provider_id == post.account.provider_user_id:
        return _outcome(engagement, "Our own account")
    if not engagement.name:
        if not profile_view_take(post.account, now):
            return _outcome(engagement, WAITING_FOR_VIEW)
        profile = channel.profile(post, engager.provider_id)
        if profile is None or not profile.name:
            return _outcome(engagement, "LinkedIn has no profile for this id")
        Engagement.objects.filter(pk=engagement.pk).update(
            name=profile.name[:200], headline=profile.headline[:300], profile_url=profile.profile_url[:500]
        )
        engagement.name, engagement.headline, engagement.profile_url = (
            profile.name,
            profile.headline,
            profile.profile_url,
        )
    _store(post=post, engagement=engagement)


@transaction.atomic
def _store(*, post: Post, engagement: Engagement) -> None:
    first, _, last = engagement.name.partition(" ")
    position, _, company = engagement.headline.partition(" at ")
    what = "commented on" if engagement.kind == Engagement.Kind.COMMENT else "reacted to"
    about = post.content_item.title if post.content_item else "a post"
    why = f"{WHY}: {what} our post on {about}"[:300]
    prospect = Prospect(
        provider_id=engagement.person_provider_id,
        first_name=first,
        last_name=last,
        headline=engagement.headline,
        position=position.strip(),
        seniority="",
        company_name=company.strip(),
        company_domain="",
        industry="",
        employees=None,
        location="",
        timezone="",
        linkedin_url=engagement.profile_url,
        email=None,
        recent_posts=0,
        raw={
            "headline": engagement.headline,
            "engaged_with_post": {"post": post.pk, "kind": engagement.kind, "why": why},
        },
    )
    stored = prospect_store(campaign=post.campaign, prospect=prospect, source=SOURCE)
    lead = stored.lead or stored.enrolled or _known(prospect, stored.skipped)
    if lead is None:
        return _outcome(engagement, f"Not added: {stored.skipped}")
    Engagement.objects.filter(pk=engagement.pk).update(lead=lead, outcome="New lead" if stored.lead else "Known person")
    activity_record(verb="lead.engaged", lead=lead, campaign=post.campaign, post=post.pk, kind=engagement.kind)
    if stored.lead:
        type(lead).objects.filter(pk=lead.pk, insight="").update(insight=why)
        leads_qualify_task.delay_on_commit([lead.pk])


def _known(prospect: Prospect, skipped: str):
    """The lead of someone already in the campaign (engaging again is still worth a timeline entry)."""
    from leads.dedupe import normalise_linkedin_url
    from leads.enrolments import Skip
    from leads.models import Lead

    if skipped != Skip.ALREADY_ENROLLED:
        return None
    url = normalise_linkedin_url(prospect.linkedin_url)
    return Lead.objects.filter(provider_id=prospect.provider_id).first() or (
        Lead.objects.filter(linkedin_url=url).first() if url else None
    )


def _outcome(engagement: Engagement, outcome: str) -> None:
    Engagement.objects.filter(pk=engagement.pk).update(outcome=outcome[:200])
    engagement.outcome = outcome
