"""Reading competitors on LinkedIn: one small port, a Unipile adapter and a deterministic sandbox.

Each method call is one read (one page from LinkedIn): the caller takes a read from the budget
(competitors.budget.read_take) before each call. Unipile's field names stay in this module.
"""

import datetime as dt
import random
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import requests

from competitors.models import Competitor, CompetitorPost
from leads.sources import sandbox
from leads.sources.base import Prospect
from outreach.channels.unipile import ApiError, UnipileClient, detail_for, parse_time
from outreach.models import SendingAccount

POSTS_PER_READ = 20
REACTIONS_PER_READ = 50


@dataclass(frozen=True)
class PostRead:
    provider_id: str
    social_id: str
    url: str
    text: str
    posted_at: dt.datetime
    reactions: int
    comments: int


class ReadFailed(Exception):
    """LinkedIn (or Unipile) could not be read; the message is safe to show a manager."""


class Reader(Protocol):
    def posts(self, competitor: Competitor, account: SendingAccount) -> list[PostRead]: ...

    def reactions(self, post: CompetitorPost, account: SendingAccount) -> list[Prospect]: ...


def reader_for(account: SendingAccount, *, now: dt.datetime) -> Reader:
    if account.channel == SendingAccount.Channel.UNIPILE:
        return UnipileReader()
    return SandboxReader(now=now)


# -- Unipile -----------------------------------------------------------------------------------------


class UnipileReader:
    def _call(self, path: str, params: dict) -> dict:
        client = UnipileClient()
        if not client.configured:
            raise ReadFailed("Unipile is not configured: set its DSN and key on Settings")
        try:
            return client.call("GET", path, params=params)
        except ApiError as exc:
            raise ReadFailed(f"Unipile: {detail_for(exc)}") from exc
        except requests.RequestException as exc:
            raise ReadFailed(f"Unipile unreachable: {type(exc).__name__}") from exc

    def posts(self, competitor: Competitor, account: SendingAccount) -> list[PostRead]:
        params: dict = {"account_id": account.provider_account_id, "limit": POSTS_PER_READ}
        if competitor.kind == Competitor.Kind.COMPANY:
            params["is_company"] = "true"
        body = self._call(f"/api/v1/users/{quote(competitor.linkedin_id, safe='')}/posts", params)
        return [post for item in body.get("items") or [] if (post := _post(item)) is not None]

    def reactions(self, post: CompetitorPost, account: SendingAccount) -> list[Prospect]:
        params = {"account_id": account.provider_account_id, "limit": REACTIONS_PER_READ}
        body = self._call(f"/api/v1/posts/{quote(post.social_id or post.provider_id, safe='')}/reactions", params)
        return [person for item in body.get("items") or [] if (person := _reactor(item)) is not None]


def _post(item: dict) -> PostRead | None:
    """A post as we keep it; a repost is someone else's words, and a post without a date cannot be placed."""
    posted_at = parse_time(item.get("parsed_datetime"))
    if not item.get("id") or posted_at is None or item.get("is_repost"):
        return None
    return PostRead(
        provider_id=str(item["id"]),
        social_id=str(item.get("social_id") or ""),
        url=str(item.get("share_url") or "")[:500],
        text=str(item.get("text") or ""),
        posted_at=posted_at,
        reactions=max(0, int(item.get("reaction_counter") or 0)),
        comments=max(0, int(item.get("comment_counter") or 0)),
    )


def _reactor(item: dict) -> Prospect | None:
    """A person who reacted; a company page reacting is not a prospect."""
    author = item.get("author") or {}
    name = " ".join(str(author.get("name") or "").split())
    if author.get("type") != "INDIVIDUAL" or not author.get("id") or not name or name == "LinkedIn Member":
        return None
    first, _, last = name.partition(" ")
    headline = str(author.get("headline") or "")[:300]
    position, _, company = headline.partition(" at ")
    return Prospect(
        provider_id=str(author["id"]),
        first_name=first[:100],
        last_name=last[:100],
        headline=headline,
        position=position[:200],
        seniority="",
        company_name=company[:200],
        company_domain="",
        industry="",
        employees=None,
        location="",
        timezone="",
        linkedin_url=str(author.get("profile_url") or ""),
        email=None,
        recent_posts=0,
        raw={"headline": headline, "source": "competitor_engagement", "reaction": item.get("value")},
    )


# -- Sandbox -----------------------------------------------------------------------------------------

# What a simulated competitor posts: (kind, text). Deterministic by competitor and day.
SANDBOX_POSTS = [
    ("launch", "We are launching {name} Forecast, a cash forecasting module for finance teams."),
    ("event", "Join our webinar on closing the books in three days, Thursday at 4pm CET."),
    ("theme", "Most CFOs still reconcile payments by hand. Automation frees a week every quarter."),
    ("theme", "Our customers in banking cut their month-end close from ten days to four."),
    ("event", "Meet the {name} team at Money20/20 Europe in Amsterdam, stand B12."),
    ("launch", "New: {name} now connects to SAP and NetSuite out of the box."),
    ("theme", "Treasury teams need one view of cash across every bank account they hold."),
]


class SandboxReader:
    """A week of posts (one every other day) and the people who reacted, from the sandbox network."""

    def __init__(self, *, now: dt.datetime, seed: int | None = None) -> None:
        self.now, self.seed = now, sandbox.SandboxSource(seed).seed

    def posts(self, competitor: Competitor, account: SendingAccount) -> list[PostRead]:
        today = self.now.astimezone(dt.UTC).date()
        posts = []
        for back in range(0, 14):
            day = today - dt.timedelta(days=back)
            rng = random.Random(f"{self.seed}:{competitor.linkedin_id}:{day.isoformat()}")
            # Most days, never less than every third day: any week of the demo has posts to summarise.
            if rng.random() < 0.55 and day.toordinal() % 3:
                continue
            _, text = rng.choice(SANDBOX_POSTS)
            provider_id = f"sbx-post-{competitor.linkedin_id}-{day.isoformat()}"
            posted_at = dt.datetime.combine(day, dt.time(8 + rng.randrange(8)), tzinfo=dt.UTC)
            if posted_at > self.now:
                continue
            posts.append(
                PostRead(
                    provider_id=provider_id,
                    social_id=provider_id,
                    url=f"https://www.linkedin.com/feed/update/{provider_id}/",
                    text=text.format(name=competitor.name),
                    posted_at=posted_at,
                    reactions=rng.randrange(5, 120),
                    comments=rng.randrange(0, 15),
                )
            )
        return posts[:POSTS_PER_READ]

    def reactions(self, post: CompetitorPost, account: SendingAccount) -> list[Prospect]:
        rng = random.Random(f"{self.seed}:reactions:{post.provider_id}")
        start = rng.randrange(sandbox.NETWORK_SIZE - 50)
        count = min(post.reactions, rng.randrange(2, 6), REACTIONS_PER_READ)
        return [sandbox.person(self.seed, start + i * 7) for i in range(count)]
