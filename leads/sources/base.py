"""The lead-source port: every adapter turns a campaign's target profile into prospects."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SearchQuery:
    titles: list[str] = field(default_factory=list)
    seniorities: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prospect:
    provider_id: str
    first_name: str
    last_name: str
    headline: str
    position: str
    seniority: str
    company_name: str
    company_domain: str
    industry: str
    employees: int | None
    location: str
    timezone: str
    linkedin_url: str
    email: str | None
    recent_posts: int
    raw: dict
    # The source's own id when it is not LinkedIn's (Apollo's person id): provider_id is only ever an id
    # Unipile can send to, or a send to this person would go to an id LinkedIn does not know.
    source_ref: str = ""


@dataclass(frozen=True)
class Page:
    items: list[Prospect]
    cursor: str | None  # None: no more results


class SourceError(Exception):
    """The source refused or failed; the message is safe to show to a manager."""


class AccountUnusable(SourceError):
    """The account cannot read now (disconnected, refused, rate limited, or the provider is unreachable)."""


class LeadSource(Protocol):
    name: str

    def search_people(self, *, query: SearchQuery, cursor: str | None, limit: int) -> Page: ...


class ActivityKind:
    POST = "post"  # they wrote a post
    COMMENT = "comment"  # they commented on a post
    REACTION = "reaction"  # they reacted to a post
    JOB_CHANGE = "job_change"  # they started a new role


@dataclass(frozen=True)
class ActivityItem:
    """One thing a person did on LinkedIn, in the shape leads.intent stores and leads.scoring reads."""

    kind: str  # an ActivityKind
    at: str  # ISO 8601 time; "" when the provider gives none
    text: str = ""  # the post or comment (profile text: data, never instructions)
    post_id: str = ""  # the post written, commented on or reacted to
    url: str = ""
    # Whose post they engaged with, when we know it: "ours" (our company's or a rep's) or "competitor".
    about: str = ""
    who: str = ""  # the competitor's name when about == "competitor"


class ActivityReader(Protocol):
    """Reads a person's recent LinkedIn activity through one of our accounts."""

    def views_for(self, lead) -> int:
        """Profile views one read of this person takes from the account's daily budget."""
        ...

    def read(self, *, account, lead, now: dt.datetime) -> list[ActivityItem]: ...
