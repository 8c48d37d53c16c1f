"""People search through Apollo's API (providers.md §1.13): the only module that knows Apollo's fields.

Search is free and reveals no email; `apollo_reveal_email` asks for one person's address
(POST /api/v1/people/match), which costs a credit, so only for a lead that passed qualification,
and each one is written on the lead's timeline as the cost it is.

Apollo pages by number, so the page size is fixed (PER_PAGE) whatever the caller asks: a size that
changed between runs would shift the pages and skip or repeat people. The cursor is the next page
number; there is none after the last page (or Apollo's 500-page ceiling).
"""

import logging
import math
from typing import Any

import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from leads.dedupe import normalise_email
from leads.lifecycle import EMAIL_REVEALABLE
from leads.models import Lead
from leads.sources.base import Page, Prospect, SearchQuery, SourceError

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Apollo is not configured: set APOLLO_API_KEY to search Apollo."
PER_PAGE = 25
MAX_PAGE = 500  # Apollo pages no further than this
CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 30.0
# Statuses a lead reaches only after passing qualification: an email may be bought for these.
REVEALABLE = EMAIL_REVEALABLE


def _call(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to Apollo; every failure is a SourceError a manager can act on. The key is never logged."""
    key = settings.APOLLO_API_KEY
    if not key:
        raise SourceError(NOT_CONFIGURED)
    url = settings.APOLLO_BASE_URL.rstrip("/") + path
    try:
        response = requests.post(
            url,
            json=body,
            headers={"X-Api-Key": key, "Accept": "application/json", "Cache-Control": "no-cache"},
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
        )
    except requests.RequestException as exc:
        log.warning("apollo POST %s failed: %s", path, type(exc).__name__)
        raise SourceError(f"Apollo did not answer ({type(exc).__name__}); it will be retried on the next run.") from exc
    status = response.status_code
    log.info("apollo POST %s -> %s", path, status)
    if status in (401, 403):
        raise SourceError(
            f"Apollo refused our API key (HTTP {status}): check APOLLO_API_KEY and the plan's API access."
        )
    if status == 429:
        raise SourceError("Apollo is rate limited, will resume on the next run.")
    if status >= 500:
        raise SourceError(f"Apollo failed for now (HTTP {status}); it will be retried on the next run.")
    try:
        data = response.json()
    except ValueError:
        data = None
    if status >= 400 or not isinstance(data, dict):
        detail = str(data.get("error") or "")[:200] if isinstance(data, dict) else ""
        raise SourceError(f"Apollo refused the request (HTTP {status}{': ' + detail if detail else ''}).")
    return data


def employee_ranges(sizes: list[str]) -> list[str]:
    """ "51-200" -> "51,200"; "5000+" -> "5000,1000000" (Apollo's organization_num_employees_ranges)."""
    ranges = []
    for size in sizes:
        low, sep, high = size.replace(" ", "").partition("-")
        if sep and low.isdigit() and high.isdigit():
            ranges.append(f"{low},{high}")
        elif size.strip().endswith("+") and size.strip()[:-1].isdigit():
            ranges.append(f"{size.strip()[:-1]},1000000")
    return ranges


def prospect_from(person: dict[str, Any]) -> Prospect:
    organisation = person.get("organization") or {}
    place = [person.get("city"), person.get("state"), person.get("country")]
    employees = organisation.get("estimated_num_employees")
    return Prospect(
        provider_id="",  # Apollo's id is no LinkedIn id: Unipile finds the person from linkedin_url
        source_ref=str(person.get("id") or ""),
        first_name=str(person.get("first_name") or ""),
        # Search may show only an obfuscated last name ("Pa***k"): none is better than a wrong one.
        last_name=str(person.get("last_name") or ""),
        headline=str(person.get("headline") or ""),
        position=str(person.get("title") or ""),
        seniority=str(person.get("seniority") or ""),
        company_name=str(organisation.get("name") or ""),
        company_domain=str(organisation.get("primary_domain") or ""),
        industry=str(organisation.get("industry") or ""),
        employees=int(employees) if isinstance(employees, int | float) else None,
        location=", ".join(str(part) for part in place if part),
        timezone=str(person.get("time_zone") or ""),
        linkedin_url=str(person.get("linkedin_url") or ""),
        email=None,  # search reveals no email; apollo_reveal_email buys one
        recent_posts=0,
        raw=person,
    )


class ApolloSource:
    name = "apollo"

    def __init__(self, *, campaign=None) -> None:
        self.campaign = campaign
        self.notes: list[str] = []

    def search_people(self, *, query: SearchQuery, cursor: str | None, limit: int) -> Page:
        page = int(cursor) if cursor and cursor.isdigit() else 1
        body: dict[str, Any] = {"page": page, "per_page": PER_PAGE}
        if query.titles:
            body["person_titles"] = query.titles
        if query.seniorities:
            body["person_seniorities"] = query.seniorities
        if query.locations:
            body["person_locations"] = query.locations
        if query.keywords:
            body["q_keywords"] = " ".join(query.keywords)
        if query.industries:
            body["q_organization_keyword_tags"] = query.industries  # (unverified against Apollo's reference)
        if self.campaign is not None and (ranges := employee_ranges(self.campaign.target.company_sizes)):
            body["organization_num_employees_ranges"] = ranges
        data = _call("/api/v1/mixed_people/api_search", body)
        people = [person for person in data.get("people") or [] if isinstance(person, dict) and person.get("id")]
        pagination = data.get("pagination") or {}
        total = pagination.get("total_entries", data.get("total_entries")) or 0
        pages = pagination.get("total_pages") or math.ceil(int(total) / PER_PAGE)
        more = people and page < min(int(pages), MAX_PAGE)
        return Page(items=[prospect_from(person) for person in people], cursor=str(page + 1) if more else None)


def apollo_reveal_email(lead: Lead) -> str | None:
    """Buy the lead's email from Apollo (one credit) and keep it, unless another lead has that address.

    Only for a lead that passed qualification and has no email yet; returns the address now on the
    lead, or None. Raises SourceError when Apollo is not configured, refuses or fails.
    """
    if lead.email or lead.status not in REVEALABLE:
        return lead.email or None
    if lead.source == "apollo" and lead.source_ref:
        body: dict[str, Any] = {"id": lead.source_ref}
    else:
        company = lead.company
        body = {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "organization_name": company.name if company else "",
            "domain": company.domain if company else "",
            "linkedin_url": lead.linkedin_url or "",
        }
    body["reveal_personal_emails"] = False
    person = _call("/api/v1/people/match", body).get("person") or {}
    if not person:
        return None  # no match: nothing revealed
    email = normalise_email(person.get("email"))
    if "@" not in email or email.startswith("email_not_unlocked@"):
        email = ""
    return _email_store(lead=lead, email=email)


@transaction.atomic
def _email_store(*, lead: Lead, email: str) -> str | None:
    from leads.services import activity_record  # services builds on the sources, not the reverse

    others = Lead.objects.filter(email=email).exclude(pk=lead.pk) if email else Lead.objects.none()
    duplicate_of = others.values_list("pk", flat=True).first()
    stored = False
    if email and duplicate_of is None:
        try:
            with transaction.atomic():
                stored = bool(Lead.objects.filter(pk=lead.pk, email__isnull=True).update(email=email))
        except IntegrityError:  # another lead took the address a moment ago
            stored = False
    payload: dict[str, Any] = {"source": "apollo", "credits": 1, "found": bool(email), "stored": stored}
    if duplicate_of is not None:
        payload["duplicate_of"] = duplicate_of
    activity_record(verb="lead.email_revealed", lead=lead, **payload)
    if stored:
        lead.email = email
    return email if stored else None
