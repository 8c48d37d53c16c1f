"""The lead-source port: every adapter turns a campaign's target profile into prospects."""

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


class LeadSource(Protocol):
    name: str

    def search_people(self, *, query: SearchQuery, cursor: str | None, limit: int) -> Page: ...
