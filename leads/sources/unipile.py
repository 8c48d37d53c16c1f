"""LinkedIn people search through Unipile (providers.md §1.3, §1.4): the only lead source that knows its fields.

It searches through one of the campaign's LinkedIn accounts connected to Unipile, with the HTTP
client, key and timeouts of the sending adapter (outreach.channels.unipile). LinkedIn filters take
ids, not text: each text is resolved once through the parameters route and kept for 30 days in
leads.SearchParameter, a text LinkedIn does not know included (as no ids), so it is not asked again
every run. A pasted search URL replaces the filters. The page's cursor is Unipile's own.

Profile lookups. Each lookup is a visit LinkedIn counts against the account (§2.2), so the search
result is enough for most people and a profile is fetched only when it adds what we need:
- a hidden person ("LinkedIn Member": no name, no public profile), who cannot be greeted or stored;
- a first-degree connection, whose profile shows contact details (an email) to us;
- a name that does not split into a first and last name by itself (no first_name, not two words),
  since the greeting guardrail checks the first name.
People already stored as leads are never looked up again. Past the account's daily profile-view
limit (outreach.limits.profile_view_take) lookups stop for the day and people are stored with what
the search gave; a hidden person is then left out (nothing to store). A fetched profile is kept in
the prospect's raw data under "profile". Notes on what was skipped are in `notes`.
"""

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests
from django.db import IntegrityError

from leads.dedupe import linkedin_public_identifier, normalise_linkedin_url
from leads.models import Lead, SearchParameter
from leads.sources.base import (
    AccountUnusable,
    ActivityItem,
    ActivityKind,
    Page,
    Prospect,
    SearchQuery,
    SourceError,
)
from outreach.channels.unipile import ACCOUNT_AUTH_TYPES, NOT_CONFIGURED, ApiError, UnipileClient, parse_time
from outreach.limits import profile_view_take
from outreach.models import SendingAccount
from salesdept.clock import now as clock_now

log = logging.getLogger(__name__)

NO_ACCOUNT = "Connect a LinkedIn account through Unipile to this campaign to search LinkedIn."
PARAMETER_TTL = dt.timedelta(days=30)
PAGE_SIZE = {"classic": 50, "sales_navigator": 100}
LONG_CURSOR = 1000  # longer cursors travel in the body, not the query string (§1.3)
HIDDEN_NAMES = {"", "linkedin member"}

# Our seniorities (TargetProfile, Apollo's names) -> Sales Navigator's SENIORITY LEVEL values.
SENIORITIES = {
    "owner": "owner/partner",
    "founder": "owner/partner",
    "partner": "owner/partner",
    "c_suite": "cxo",
    "vp": "vice_president",
    "head": "director",
    "director": "director",
    "manager": "experienced_manager",
    "senior": "senior",
    "individual": "senior",
    "entry": "entry_level",
    "intern": "in_training",
}
# Sales Navigator's company headcount bands (min, max); the last is open-ended.
HEADCOUNT_BANDS = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, None)]


def normalise_text(text: str) -> str:
    """The cache key of a filter text: lower case, single spaces."""
    return " ".join(text.lower().split())[:200]


def headcount_bands(sizes: list[str]) -> list[dict[str, int]]:
    """ "51-200", "201-1000", "5000+" -> the Sales Navigator bands that overlap them."""
    bands: list[tuple[int, int | None]] = []
    for size in sizes:
        if match := re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", size):
            low, high = int(match[1]), int(match[2])
        elif match := re.fullmatch(r"\s*(\d+)\s*\+\s*", size):
            low, high = int(match[1]), None
        else:
            continue
        for band in HEADCOUNT_BANDS:
            overlaps = (high is None or band[0] <= high) and (band[1] is None or band[1] >= low)
            if overlaps and band not in bands:
                bands.append(band)
    return [{"min": low, "max": high} if high else {"min": low} for low, high in sorted(bands)]


def _quoted(title: str) -> str:
    title = title.replace('"', "").strip()
    return f'"{title}"' if " " in title else title


def profile_url(item: dict[str, Any]) -> str:
    if url := item.get("public_profile_url"):
        return str(url)
    if slug := item.get("public_identifier"):
        return f"https://www.linkedin.com/in/{slug}"
    return ""


def _split_name(item: dict[str, Any]) -> tuple[str, str] | None:
    """(first, last) when the result says it plainly: its own fields, or a two-word name."""
    if item.get("first_name"):
        return str(item["first_name"]), str(item.get("last_name") or "")
    name = " ".join(str(item.get("name") or "").split())
    if name.lower() in HIDDEN_NAMES:
        return None
    words = name.split(" ")
    return (words[0], words[1]) if len(words) == 2 else None


def is_hidden(item: dict[str, Any]) -> bool:
    return not item.get("first_name") and " ".join(str(item.get("name") or "").split()).lower() in HIDDEN_NAMES


def wants_profile(item: dict[str, Any]) -> bool:
    """Whether a profile visit adds what the search result lacks (see the module's docstring)."""
    return item.get("network_distance") == "DISTANCE_1" or _split_name(item) is None


def prospect_from(item: dict[str, Any], profile: dict[str, Any] | None = None) -> Prospect | None:
    """A search result (and its fetched profile) as a Prospect; None for a person we cannot name."""
    if profile and profile.get("first_name"):
        first, last = str(profile["first_name"]), str(profile.get("last_name") or "")
    elif names := _split_name(item):
        first, last = names
    elif not is_hidden(item):
        first, _, last = " ".join(str(item.get("name")).split()).partition(" ")
    else:
        return None
    positions = item.get("current_positions") or [{}]
    current = positions[0] if isinstance(positions[0], dict) else {}
    emails = ((profile or {}).get("contact_info") or {}).get("emails") or []
    url = profile_url(item) or profile_url(profile or {})
    return Prospect(
        provider_id=str(item.get("id") or ""),
        first_name=first,
        last_name=last,
        headline=str(item.get("headline") or (profile or {}).get("headline") or ""),
        position=str(current.get("role") or ""),
        seniority="",
        company_name=str(current.get("company") or ""),
        company_domain="",
        industry=str(item.get("industry") or ""),
        employees=None,
        location=str(item.get("location") or (profile or {}).get("location") or ""),
        timezone="",
        linkedin_url=url,
        email=str(emails[0]) if emails else None,
        recent_posts=int(item.get("recent_posts_count") or 0),
        raw={**item, "profile": profile} if profile else item,
    )


def search_error(exc: Exception, account: SendingAccount) -> SourceError:
    """A Unipile failure as a message a manager can act on (providers.md §1.9)."""
    if isinstance(exc, ApiError):
        kind = exc.type or f"HTTP {exc.status}"
        if exc.status == 401 and exc.type in ACCOUNT_AUTH_TYPES:
            return SourceError(
                f"The LinkedIn account {account} is disconnected from Unipile ({kind}): reconnect it to search."
            )
        if exc.status == 401:
            return SourceError(f"Unipile refused our API key ({kind}): check UNIPILE_API_KEY or the key on Settings.")
        if exc.status == 403:
            return SourceError(
                f"LinkedIn refused this search for {account} ({kind}): the account's plan or permissions do not "
                "allow it (Sales Navigator searches need a Sales Navigator subscription)."
            )
        if exc.status == 429 or exc.type == "errors/limit_exceeded":
            return SourceError(f"LinkedIn search through {account} is rate limited, will resume on the next run.")
        if exc.status in (400, 404, 422):
            return SourceError(f"Unipile refused the search ({kind}: {exc.title}): check the campaign's filters.")
        return SourceError(f"Unipile failed for now ({kind}); the search will be retried on the next run.")
    return SourceError(f"Unipile did not answer ({type(exc).__name__}); the search will be retried on the next run.")


class UnipileSource:
    name = "unipile"

    def __init__(self, *, campaign, clock: Callable[[], dt.datetime] = clock_now) -> None:
        self.campaign = campaign
        self.clock = clock
        self.notes: list[str] = []  # what this run skipped or could not do, for the manager
        self._views_left = True

    def note(self, text: str) -> None:
        if text not in self.notes:
            log.info("unipile search for campaign %s: %s", getattr(self.campaign, "pk", None), text)
            self.notes.append(text)

    # -- the port --------------------------------------------------------------------------------------------
    def search_people(self, *, query: SearchQuery, cursor: str | None, limit: int) -> Page:
        client = UnipileClient()
        if not client.configured:
            raise SourceError(NOT_CONFIGURED)
        account = self._account()
        target = self.campaign.target
        api = target.linkedin_api
        if url := target.linkedin_search_url:  # a pasted search is the kind its URL says
            api = "sales_navigator" if "/sales/" in url else "classic"
        params: dict[str, Any] = {"account_id": account.provider_account_id, "limit": min(limit, PAGE_SIZE[api])}
        try:
            if cursor and len(cursor) > LONG_CURSOR:
                body: dict[str, Any] = {"cursor": cursor}
            else:
                body = self.search_body(client, account, query)
                if cursor:
                    params["cursor"] = cursor
            page = client.call("POST", "/api/v1/linkedin/search", params=params, json=body)
        except (ApiError, requests.RequestException) as exc:
            raise search_error(exc, account) from exc
        items = [item for item in page.get("items") or [] if isinstance(item, dict) and item.get("id")]
        prospects = [p for p in self._with_profiles(client, account, items, api) if p is not None]
        return Page(items=prospects, cursor=page.get("cursor") or None)

    # -- the account -----------------------------------------------------------------------------------------
    def _account(self) -> SendingAccount:
        if self.campaign is None:
            raise SourceError(NO_ACCOUNT)
        accounts = list(
            self.campaign.sending_accounts.filter(channel=SendingAccount.Channel.UNIPILE, is_active=True)
            .exclude(provider_account_id="")
            .order_by("pk")
        )
        if not accounts:
            raise SourceError(NO_ACCOUNT)
        healthy = [account for account in accounts if account.health == SendingAccount.Health.OK]
        if not healthy:
            reasons = "; ".join(f"{a}: {a.get_health_display()}" for a in accounts)
            raise SourceError(f"No LinkedIn account of this campaign can search now ({reasons}).")
        return healthy[0]

    # -- the body --------------------------------------------------------------------------------------------
    def search_body(self, client: UnipileClient, account: SendingAccount, query: SearchQuery) -> dict[str, Any]:
        target = self.campaign.target
        if target.linkedin_search_url:
            return {"url": target.linkedin_search_url}
        resolve = lambda kind, texts: self._resolve(client, account, kind, texts)  # noqa: E731
        if target.linkedin_api == "sales_navigator":
            return self._sales_navigator_body(query, target.company_sizes, resolve)
        body: dict[str, Any] = {"api": "classic", "category": "people"}
        if query.keywords:
            body["keywords"] = " ".join(query.keywords)
        if query.titles:
            body["advanced_keywords"] = {"title": " OR ".join(_quoted(title) for title in query.titles)}
        if ids := resolve("LOCATION", query.locations):
            body["location"] = ids
        if ids := resolve("INDUSTRY", query.industries):
            body["industry"] = ids
        if query.seniorities or target.company_sizes:
            self.note("Classic LinkedIn search has no seniority or company-size filter: those count in the score only.")
        return body

    def _sales_navigator_body(self, query: SearchQuery, sizes: list[str], resolve) -> dict[str, Any]:
        body: dict[str, Any] = {"api": "sales_navigator", "category": "people"}
        if query.keywords:
            body["keywords"] = " ".join(query.keywords)
        if query.titles:
            # A title LinkedIn has no id for still works as text (the role filter takes both).
            ids = {normalise_text(title): resolve("JOB_TITLE", [title]) for title in query.titles}
            body["role"] = {"include": [i for title in query.titles for i in ids[normalise_text(title)] or [title]]}
        if ids := resolve("LOCATION", query.locations):
            body["location"] = {"include": ids}
        if ids := resolve("SALES_INDUSTRY", query.industries):
            body["industry"] = {"include": ids}
        levels = list(dict.fromkeys(SENIORITIES[s] for s in query.seniorities if s in SENIORITIES))
        if unknown := [s for s in query.seniorities if s not in SENIORITIES]:
            self.note(f"Sales Navigator has no seniority called {', '.join(unknown)}: searched without it.")
        if levels:
            body["seniority"] = {"include": levels}
        if bands := headcount_bands(sizes):
            body["company_headcount"] = bands
        return body

    def _resolve(self, client: UnipileClient, account: SendingAccount, kind: str, texts: list[str]) -> list[str]:
        """LinkedIn's ids for these texts, from the cache when resolved in the last 30 days."""
        keys = list(dict.fromkeys(normalise_text(text) for text in texts if text.strip()))
        if not keys:
            return []
        fresh_after = self.clock() - PARAMETER_TTL
        cached = {
            row.text: row.ids
            for row in SearchParameter.objects.filter(
                source=self.name, kind=kind, text__in=keys, resolved_at__gte=fresh_after
            )
        }
        ids: list[str] = []
        for key in keys:
            if key not in cached:
                cached[key] = self._ask_parameter(client, account, kind, key)
            if not cached[key]:
                self.note(f"LinkedIn knows no {kind.lower().replace('_', ' ')} called {key!r}: searched without it.")
            ids += [str(match["id"]) for match in cached[key] if str(match["id"]) not in ids]
        return ids

    def _ask_parameter(self, client: UnipileClient, account: SendingAccount, kind: str, text: str) -> list[dict]:
        params = {"account_id": account.provider_account_id, "type": kind, "keywords": text, "limit": 1}
        answer = client.call("GET", "/api/v1/linkedin/search/parameters", params=params)
        # The best match only: "London" is London, not also London, Ontario.
        found = [
            {"id": str(item["id"]), "title": str(item.get("title") or "")}
            for item in (answer.get("items") or [])[:1]
            if isinstance(item, dict) and item.get("id")
        ]
        try:
            SearchParameter.objects.update_or_create(
                source=self.name, kind=kind, text=text, defaults={"ids": found, "resolved_at": self.clock()}
            )
        except IntegrityError:  # another worker cached it a moment ago
            pass
        return found

    # -- profiles --------------------------------------------------------------------------------------------
    def _with_profiles(
        self, client: UnipileClient, account: SendingAccount, items: list[dict[str, Any]], api: str
    ) -> list[Prospect | None]:
        wanted = [item for item in items if wants_profile(item)]
        known = self._known(wanted)
        prospects, hidden_left_out = [], 0
        for item in items:
            profile = None
            if wants_profile(item) and not self._is_known(item, known):
                profile = self._profile(client, account, item, api)
            if profile is None and is_hidden(item):
                hidden_left_out += 1
            prospects.append(prospect_from(item, profile))
        if hidden_left_out:
            self.note(f"{hidden_left_out} people LinkedIn shows only as 'LinkedIn Member' were left out.")
        return prospects

    @staticmethod
    def _known(items: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
        """Provider ids and profile URLs of these people we already hold: their profiles are not visited."""
        ids = [str(item["id"]) for item in items]
        urls = [normalise_linkedin_url(profile_url(item)) for item in items if profile_url(item)]
        rows = Lead.objects.filter(provider_id__in=ids) | Lead.objects.filter(linkedin_url__in=urls)
        pairs = list(rows.values_list("provider_id", "linkedin_url"))
        return {p for p, _ in pairs if p}, {u for _, u in pairs if u}

    @staticmethod
    def _is_known(item: dict[str, Any], known: tuple[set[str], set[str]]) -> bool:
        url = profile_url(item)
        return str(item["id"]) in known[0] or bool(url and normalise_linkedin_url(url) in known[1])

    def _profile(
        self, client: UnipileClient, account: SendingAccount, item: dict[str, Any], api: str
    ) -> dict[str, Any] | None:
        if not self._views_left:
            return None
        if not profile_view_take(account, self.clock()):
            self._views_left = False
            self.note(
                f"{account} reached its daily profile-view limit: people are stored with what the search gave; "
                "profile lookups resume tomorrow."
            )
            return None
        params = {"account_id": account.provider_account_id, "notify": "false"}
        if api == "sales_navigator":
            params["linkedin_api"] = "sales_navigator"
        try:
            return client.call("GET", f"/api/v1/users/{quote(str(item['id']), safe='')}", params=params)
        except ApiError as exc:
            if exc.status == 404:
                return None
            self._views_left = False  # limited, refused or down: the search results are enough today
            self.note(f"Profile lookups stopped for this run: {search_error(exc, account)}")
        except requests.RequestException as exc:
            self._views_left = False
            self.note(f"Profile lookups stopped for this run: Unipile did not answer ({type(exc).__name__}).")
        return None


# -- a person's activity (leads.intent) --------------------------------------------------------------------------
ACTIVITY_PAGE = 10  # their ten latest of each: intent is about the last weeks, not a history


def _when(value: Any) -> str:
    moment = parse_time(value)
    return moment.astimezone(dt.UTC).isoformat() if moment else ""


def post_item(post: dict[str, Any]) -> ActivityItem:
    repost = post.get("repost_content") if post.get("is_repost") else None
    text = str(post.get("text") or "") or str((repost or {}).get("text") or "")
    return ActivityItem(
        kind=ActivityKind.POST,
        at=_when(post.get("parsed_datetime")),
        text=text[:1000],
        post_id=str(post.get("id") or post.get("social_id") or ""),  # the id reactions and comments name too
        url=str(post.get("share_url") or ""),
    )


def comment_item(comment: dict[str, Any]) -> ActivityItem:
    return ActivityItem(
        kind=ActivityKind.COMMENT,
        at=_when(comment.get("date") or comment.get("created_at")),
        text=str(comment.get("text") or "")[:1000],
        post_id=str(comment.get("post_id") or comment.get("post_urn") or ""),
    )


def reaction_item(reaction: dict[str, Any]) -> ActivityItem:
    # The contract gives a reaction no date: leads.intent dates it when first seen.
    return ActivityItem(kind=ActivityKind.REACTION, at="", post_id=str(reaction.get("post_id") or ""))


class UnipileActivity:
    """A person's latest posts, comments and reactions on LinkedIn, read through one of our Unipile accounts.

    Three requests, each counted as a profile view (LinkedIn counts visits per account, across routes).
    A person known only by a profile URL is looked up first (one more view) and their LinkedIn id kept.
    """

    views = 3

    def __init__(self, client: UnipileClient | None = None) -> None:
        self.client = client or UnipileClient()

    def views_for(self, lead: Lead) -> int:
        return self.views if lead.provider_id else self.views + 1

    def read(self, *, account: SendingAccount, lead: Lead, now: dt.datetime) -> list[ActivityItem]:
        if not self.client.configured:
            raise SourceError(NOT_CONFIGURED)
        account_id = account.provider_account_id
        try:
            identifier = lead.provider_id or self._provider_id(account_id, lead)
            if not identifier:
                return []
            args = {"account_id": account_id, "identifier": identifier, "limit": ACTIVITY_PAGE}
            posts = self.client.user_posts(**args)
            comments = self.client.user_comments(**args)
            reactions = self.client.user_reactions(**args)
        except (ApiError, requests.RequestException) as exc:
            raise activity_error(exc, account) from exc
        items = [*map(post_item, posts), *map(comment_item, comments), *map(reaction_item, reactions)]
        if isinstance(lead.raw_profile, dict) and lead.raw_profile.get("recently_hired"):
            items.append(ActivityItem(kind=ActivityKind.JOB_CHANGE, at="", text=f"New role: {lead.position}"))
        return items

    def _provider_id(self, account_id: str, lead: Lead) -> str:
        slug = linkedin_public_identifier(lead.linkedin_url or "")
        if not slug:
            return ""
        try:
            profile = self.client.call(
                "GET", f"/api/v1/users/{quote(slug, safe='')}", params={"account_id": account_id, "notify": "false"}
            )
        except ApiError as exc:
            if exc.status == 404:
                return ""
            raise
        provider_id = str(profile.get("provider_id") or "")
        if provider_id:  # read once: the next read, and any send, go straight to the person
            Lead.objects.filter(pk=lead.pk, provider_id="").update(provider_id=provider_id)
        return provider_id


def activity_error(exc: Exception, account: SendingAccount) -> SourceError:
    """Why a person's activity could not be read, for the log and the run's notes; AccountUnusable when the
    next person would fail the same way through this account."""
    if isinstance(exc, ApiError):
        kind = exc.type or f"HTTP {exc.status}"
        if exc.status in (401, 403):
            return AccountUnusable(f"{account} cannot read LinkedIn activity now ({kind}).")
        if exc.status == 429 or exc.type == "errors/limit_exceeded":
            return AccountUnusable(f"LinkedIn rate limited {account}: activity reads resume on the next run.")
        return SourceError(f"Unipile could not read this person's activity ({kind}).")
    return AccountUnusable(f"Unipile did not answer ({type(exc).__name__}); activity is read on the next run.")
