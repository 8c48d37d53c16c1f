"""A local fake of Unipile's REST API v1 (providers.md §1.12), served over real HTTP on 127.0.0.1.

    with FakeUnipile() as fake:
        settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = fake.dsn, fake.api_key
        fake.add_message(account_id="acc-1", sender_id="ACo-lena", text="Hi!")

Reserved recipient provider ids (RESERVED) make invitations and chat sends fail the way each row
of §1.9 does. `ACo-timeout` answers 504 after recording the send (the "did it go out?" check finds
it), `ACo-timeout-lost` answers 504 and records nothing, `ACo-hang` records the send and answers
only after `hang_seconds`, `ACo-drop` hangs up without answering.

People search serves `search_size` deterministic people (`search_person(i)`), paged by an opaque
cursor, for classic, Sales Navigator and pasted-URL bodies; filters must be ids (400 otherwise),
resolved through the parameters route from SEARCH_PARAMETERS. Reserved search keywords
(SEARCH_RESERVED) answer each error. `GET /users/{identifier}` answers the profile of a searched
person (an email for first-degree connections); reserved identifiers fail as RESERVED says.

Hosted auth: `POST /hosted/accounts/link` answers a URL of the fake's own sign-in page
(`/hosted/<link>`, plain HTML with a "Connect" link, no API key, as a browser sees it). Following
that link is the rep signing in: the fake creates the account (or, for a reconnect, makes it OK
again), POSTs Unipile's notify body to the link's notify_url, then redirects the browser to
success_redirect_url. An account whose status is CREDENTIALS refuses sends with 401
errors/disconnected_account. `GET /users/me` answers the account's own profile and plan.

Posts: `POST /posts` (multipart) publishes and answers PostCreated; `post_outcome` makes the next
publishes fail as RESERVED names it, or "timeout" (recorded, then 504) and "hang" (recorded, then
answered after `hang_seconds`). `add_reaction` / `add_comment` put engagement on a post (a comment
names its author by ids only, as the contract says); `GET /posts/{id}/reactions` pages with
`paging.cursor`, comments with a top-level `cursor`.
A person's activity: `GET /users/{identifier}/posts|comments|reactions` answer what the test added with
add_user_post / add_user_comment / add_user_reaction (newest first, an empty list for anyone else);
reserved identifiers fail only with the statuses those routes' contract lists.

Every request is recorded (`fake.requests`, and the module's ALL_REQUESTS for the contract test)
as {"method", "path", "query", "headers", "json", "form", "content_type", "status"}.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import html
import itertools
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.http import FakeHandler, LocalFake

# (method, path template) the fake serves; the contract test checks each against the OpenAPI file.
ROUTES = [
    ("POST", "/api/v1/users/invite"),
    ("GET", "/api/v1/users/invite/sent"),
    ("DELETE", "/api/v1/users/invite/sent/{invitation_id}"),
    ("POST", "/api/v1/chats"),
    ("POST", "/api/v1/chats/{chat_id}/messages"),
    ("GET", "/api/v1/chats/{chat_id}/messages"),
    ("GET", "/api/v1/messages"),
    ("GET", "/api/v1/users/relations"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/accounts/{id}"),
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("POST", "/api/v1/linkedin/search"),
    ("GET", "/api/v1/linkedin/search/parameters"),
    ("GET", "/api/v1/users/{identifier}"),
    ("POST", "/api/v1/hosted/accounts/link"),
    ("GET", "/api/v1/users/me"),
    ("POST", "/api/v1/posts"),
    ("GET", "/api/v1/posts/{post_id}/reactions"),
    ("GET", "/api/v1/posts/{post_id}/comments"),
    # A person's own activity (leads.intent): see add_user_post / add_user_comment / add_user_reaction.
    ("GET", "/api/v1/users/{identifier}/posts"),
    ("GET", "/api/v1/users/{identifier}/comments"),
    ("GET", "/api/v1/users/{identifier}/reactions"),
]
EXPIRES_ON = re.compile(r"^[1-2]\d{3}-[0-1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}.\d{3}Z$")  # the contract's pattern

# Recipient provider id -> (status, type, title): one per row of providers.md §1.9.
RESERVED = {
    "ACo-disconnected": (401, "errors/disconnected_account", "Disconnected account"),
    "ACo-expired": (401, "errors/expired_credentials", "Expired credentials"),
    "ACo-checkpoint": (401, "errors/checkpoint_error", "Checkpoint error"),
    "ACo-restricted": (403, "errors/account_restricted", "Account restricted"),
    "ACo-feature": (403, "errors/feature_not_subscribed", "Feature not subscribed"),
    "ACo-permissions": (403, "errors/insufficient_permissions", "Insufficient permissions"),
    "ACo-already-invited": (422, "errors/already_invited_recently", "Already invited recently"),
    "ACo-cannot-resend": (422, "errors/cannot_resend_yet", "Cannot resend yet"),
    "ACo-resend-24h": (422, "errors/cannot_resend_within_24hrs", "Cannot resend within 24 hours"),
    "ACo-limit": (422, "errors/limit_exceeded", "Limit exceeded"),
    "ACo-429": (429, "errors/too_many_requests", "Too many requests"),
    "ACo-no-connection": (422, "errors/no_connection_with_recipient", "No connection with recipient"),
    "ACo-no-inmail": (422, "errors/not_allowed_inmail", "Not allowed inMail"),
    "ACo-no-credits": (422, "errors/insufficient_credits", "Insufficient credits"),
    "ACo-cannot-invite": (422, "errors/cannot_invite_attendee", "Cannot invite attendee"),
    "ACo-blocked": (422, "errors/blocked_recipient", "Blocked recipient"),
    "ACo-unreachable": (422, "errors/user_unreachable", "User unreachable"),
    "ACo-invalid-recipient": (422, "errors/invalid_recipient", "Invalid recipient"),
    "ACo-too-long": (400, "errors/too_many_characters", "Too many characters"),
    "ACo-not-found": (404, "errors/resource_not_found", "Resource not found."),
    "ACo-provider-error": (500, "errors/provider_error", "Provider error"),
    "ACo-unexpected": (500, "errors/unexpected_error", "Unexpected error"),
    "ACo-no-session": (503, "errors/no_client_session", "No client session"),
    "ACo-timeout-lost": (504, "errors/request_timeout", "Request timed out"),
}
TIMEOUT = (504, "errors/request_timeout", "Request timed out")
ACTIVITY_ERRORS = {401, 403, 422, 500, 503, 504}  # the statuses the contract gives users/{id}/posts|comments|reactions
# Search keywords -> (status, type, title). Unipile's contract lists no 429 for search (it does for
# profile lookups); the real service still answers one when LinkedIn throttles: tests that use
# "search-429" run a fake with its own key, which the contract test does not count.
SEARCH_RESERVED = {
    "search-429": (429, "errors/too_many_requests", "Too many requests"),
    "search-disconnected": (401, "errors/disconnected_account", "Disconnected account"),
    "search-feature": (403, "errors/feature_not_subscribed", "Feature not subscribed"),
    "search-provider-error": (500, "errors/provider_error", "Provider error"),
    "search-no-session": (503, "errors/no_client_session", "No client session"),
    "search-timeout": (504, "errors/request_timeout", "Request timed out"),
}
# What the parameters route knows: type -> normalised keywords -> [(id, title)], best match first.
SEARCH_PARAMETERS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "LOCATION": {
        "london": [("90009496", "London Area, United Kingdom"), ("102257491", "London, England, United Kingdom")],
        "berlin": [("103035651", "Berlin, Germany")],
    },
    "INDUSTRY": {"fintech": [("43", "Financial Services")], "banking": [("41", "Banking")]},
    "SALES_INDUSTRY": {"fintech": [("43", "Financial Services")], "banking": [("41", "Banking")]},
    "JOB_TITLE": {
        "chief financial officer": [("68", "Chief Financial Officer")],
        "vp finance": [("1234", "Vice President Finance")],
        "head of finance": [("3362", "Head of Finance")],
    },
}
SN_SENIORITIES = {
    "owner/partner",
    "cxo",
    "vice_president",
    "director",
    "experienced_manager",
    "entry_level_manager",
    "strategic",
    "senior",
    "entry_level",
    "in_training",
}
HEADCOUNT_MIN, HEADCOUNT_MAX = {1, 11, 51, 201, 501, 1001, 5001, 10001}, {10, 50, 200, 500, 1000, 5000, 10000}
_FIRST = ["Lena", "Omar", "Priya", "Jonas", "Chloé", "Mateo", "Aisha", "Kenji"]
_LAST = ["Park", "Haddad", "Patel", "Müller", "Dubois", "Silva", "Khan", "Tanaka"]
_ROLES = ["Chief Financial Officer", "VP Finance", "Head of Finance", "Finance Director"]
_COMPANIES = ["Northwind Payments", "Ledgerly", "Brightvault Bank", "Piccolo Pay"]


def search_person(i: int) -> dict[str, Any]:
    """Searched person number i (unique name and company for i < 256).

    i % 10 == 3: a first-degree connection; == 5: only a three-word `name`, no first/last name;
    == 7: hidden ("LinkedIn Member": no name, no public profile).
    """
    first, last, company = _FIRST[i % 8], _LAST[(i // 8) % 8], _COMPANIES[(i // 64) % 4]
    role = _ROLES[i % 4]
    slug = f"{first.lower().replace('é', 'e')}-{last.lower().replace('ü', 'u')}-{i:03d}"
    person: dict[str, Any] = {
        "object": "SearchResult",
        "type": "PEOPLE",
        "id": f"ACoSearch{i:03d}",
        "public_identifier": slug,
        "public_profile_url": f"https://www.linkedin.com/in/{slug}",
        "profile_url": f"https://www.linkedin.com/in/ACoSearch{i:03d}",
        "profile_picture_url": None,
        "profile_picture_url_large": None,
        "member_urn": f"urn:li:member:{1000 + i}",
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "network_distance": "DISTANCE_1" if i % 10 == 3 else "DISTANCE_2",
        "location": "London Area, United Kingdom" if i % 2 else "Berlin, Germany",
        "industry": "Financial Services",
        "headline": f"{role} at {company}",
        "recent_posts_count": i % 4,
        "current_positions": [
            {"company": company, "company_id": str(500 + (i // 64) % 4), "role": role, "tenure_at_role": {"years": 2}}
        ],
    }
    if i % 10 == 5:
        person["name"] = f"Anna Maria {last}"
        del person["first_name"], person["last_name"]
    if i % 10 == 7:
        person.update(
            name="LinkedIn Member", public_identifier=None, public_profile_url=None, network_distance="OUT_OF_NETWORK"
        )
        del person["first_name"], person["last_name"]
    return person


def search_profile(i: int) -> dict[str, Any]:
    """The profile a lookup of searched person i answers (a hidden person's real name included)."""
    person = search_person(i)
    first = "Anna Maria" if i % 10 == 5 else ("Hidden" if i % 10 == 7 else person["first_name"])
    last = _LAST[(i // 8) % 8] if i % 10 != 7 else f"Person{i:03d}"
    distance = {"DISTANCE_1": "FIRST_DEGREE", "DISTANCE_2": "SECOND_DEGREE"}.get(person["network_distance"])
    return {
        "object": "UserProfile",
        "provider": "LINKEDIN",
        "provider_id": person["id"],
        "public_identifier": person["public_identifier"] or f"hidden-person-{i:03d}",
        "first_name": first,
        "last_name": last,
        "headline": person["headline"],
        "location": person["location"],
        "contact_info": {"emails": [f"{first.lower().split()[0]}.{i:03d}@example.com"]} if i % 10 == 3 else {},
        "network_distance": distance or "OUT_OF_NETWORK",
        "is_relationship": i % 10 == 3,
    }


# Every request the adapter made to any fake in this test session: the contract test reads it.
ALL_REQUESTS: list[dict[str, Any]] = []


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def parse_multipart(content_type: str, body: bytes) -> dict[str, str | list[str]]:
    """multipart/form-data fields by name (a repeated name gives a list), without the cgi module."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str | list[str]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        value = (part.get_payload(decode=True) or b"").decode()
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


class Reply(Exception):
    """Raised inside a route to answer with an error body."""

    def __init__(self, status: int, type_: str, title: str, detail: str = "") -> None:
        super().__init__(type_)
        self.status, self.type, self.title, self.detail = status, type_, title, detail


class FakeUnipile(LocalFake):
    name = "FakeUnipile"

    def __init__(self, api_key: str = "unipile-test-key") -> None:
        self.api_key = api_key
        self.page_size = 250  # lower it to make the client follow cursors
        self.hang_seconds = 0.1
        self.usage: float | None = None  # the invitation quota figure Unipile adds past 50, 75, 90, 95 %
        self.requests: list[dict[str, Any]] = []
        self.invites: list[dict[str, Any]] = []
        self.chats: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.relations: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.hosted_links: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # notify calls made: {"url", "body", "status"}
        self.next_user: dict[str, Any] = {"user_id": "ACo-new", "premium": False, "sales_navigator": False}
        self.search_size = 120  # people a search finds, whatever its filters
        self.posts: dict[str, dict[str, Any]] = {}
        self.post_outcome: str | None = None  # a RESERVED provider id, "timeout" or "hang" for the next publishes
        self.user_activity: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (identifier, what) -> items
        self.user_posts: dict[str, list[dict[str, Any]]] = {}  # competitor watch: author id -> posts, newest first
        self.post_reactions: dict[str, list[dict[str, Any]]] = {}  # competitor watch: post social_id -> reactions
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._serve()
        self.dsn = f"http://127.0.0.1:{self.port}"

    # -- state the tests set up ------------------------------------------------------------------------------
    def add_account(
        self,
        account_id: str,
        *,
        user_id: str = "ACo-me",
        status: str = "OK",
        premium: bool = False,
        sales_navigator: bool = False,
        recruiter: bool = False,
    ) -> None:
        with self._lock:
            self.accounts[account_id] = {
                "user_id": user_id,
                "status": status,
                "premium": premium,
                "sales_navigator": sales_navigator,
                "recruiter": recruiter,
            }

    def set_status(self, account_id: str, status: str) -> None:
        """CREDENTIALS: LinkedIn logged the account out; its sends answer 401 until it is reconnected."""
        with self._lock:
            self.accounts[account_id]["status"] = status

    def add_message(
        self,
        *,
        account_id: str,
        sender_id: str,
        text: str,
        chat_id: str = "chat-inbound",
        at: dt.datetime | None = None,
        is_sender: bool = False,
        is_event: bool = False,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            return self._store_message(account_id, chat_id, sender_id, text, at, is_sender, is_event, message_id)

    def add_relation(self, *, account_id: str, member_id: str, at: dt.datetime) -> None:
        with self._lock:
            self.relations.append(
                {
                    "object": "UserRelation",
                    "account_id": account_id,
                    "first_name": "Rel",
                    "last_name": member_id,
                    "headline": "",
                    "public_identifier": member_id.lower(),
                    "public_profile_url": f"https://www.linkedin.com/in/{member_id.lower()}",
                    "created_at": int(at.timestamp() * 1000),  # epoch milliseconds, as Unipile sends
                    "member_id": member_id,
                    "member_urn": f"urn:li:member:{member_id}",
                    "connection_urn": f"urn:li:connection:{member_id}",
                }
            )

    def add_invite(self, *, account_id: str, provider_id: str, text: str = "") -> dict[str, Any]:
        with self._lock:
            return self._store_invite(account_id, provider_id, text)

    def add_reaction(self, *, post_id: str, person: dict[str, Any], value: str = "LIKE") -> None:
        """`person` is a search_person(i): its id, name, headline and profile URL."""
        with self._lock:
            self.posts[post_id]["reactions"].append(
                {
                    "object": "PostReaction",
                    "value": value,
                    "post_id": post_id,
                    "author": {
                        "id": person["id"],
                        "type": "INDIVIDUAL",
                        "name": person["name"],
                        "headline": person["headline"],
                        "profile_url": person["public_profile_url"],
                        "network_distance": "SECOND_DEGREE",
                    },
                }
            )

    def add_comment(self, *, post_id: str, person: dict[str, Any], text: str) -> None:
        with self._lock:
            self.posts[post_id]["comments"].append(
                {
                    "object": "Comment",
                    "id": self._next("comment"),
                    "post_id": post_id,
                    "author": {
                        "provider_id": person["id"],
                        "messaging_id": f"msg-{person['id']}",
                        "public_identifier": person["public_identifier"],
                        "pk": person["id"],
                        "profile_pic_url": "",
                        "is_verified": False,
                    },
                    "text": text,
                }
            )

    # -- a person's activity -----------------------------------------------------------------------------------
    def add_user_post(self, identifier: str, *, text: str, at: dt.datetime, post_id: str | None = None) -> str:
        post_id = post_id or self._next("post")
        post = {
            "object": "Post",
            "provider": "LINKEDIN",
            "id": post_id,
            "social_id": f"urn:li:activity:{post_id}",
            "share_url": f"https://www.linkedin.com/feed/update/urn:li:activity:{post_id}",
            "text": text,
            "date": "1d",
            "parsed_datetime": iso(at),
            "reaction_counter": 3,
            "comment_counter": 1,
            "repost_counter": 0,
            "impressions_counter": 120,
            "author": {
                "public_identifier": identifier.lower(),
                "id": identifier,
                "name": "Author",
                "is_company": False,
            },
            "permissions": {"can_react": True, "can_share": True, "can_post_comments": True},
            "is_repost": False,
            "attachments": [],
        }
        return self._add_activity(identifier, "posts", post)

    def add_user_comment(self, identifier: str, *, text: str, at: dt.datetime, post_id: str = "post-x") -> str:
        comment = {
            "object": "Comment",
            "id": self._next("comment"),
            "post_id": post_id,
            "post_urn": f"urn:li:activity:{post_id}",
            "author": "Commenter",
            "author_details": {
                "id": identifier,
                "headline": "",
                "profile_url": "",
                "network_distance": "SECOND_DEGREE",
            },
            "date": iso(at),
            "text": text,
            "reaction_counter": 0,
            "reply_counter": 0,
        }
        return self._add_activity(identifier, "comments", comment)

    def add_user_reaction(self, identifier: str, *, post_id: str, value: str = "LIKE") -> str:
        author = {"id": identifier, "type": "INDIVIDUAL", "name": "Reactor", "headline": "", "profile_url": ""}
        reaction = {"object": "PostReaction", "value": value, "post_id": post_id, "author": author}
        return self._add_activity(identifier, "reactions", reaction)

    def _add_activity(self, identifier: str, what: str, item: dict[str, Any]) -> str:
        with self._lock:
            self.user_activity.setdefault((identifier, what), []).insert(0, item)  # newest first
        return str(item.get("id") or item.get("post_id"))

    def _user_activity(self, identifier: str, what: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _required(query, "account_id")
        limit = int(query.get("limit") or 100)
        if not 1 <= limit <= 100:
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", f"limit {limit} is out of 1-100")
        status = RESERVED.get(identifier, (200,))[0]
        if status in ACTIVITY_ERRORS:  # only what these routes' contract lists
            raise Reply(*RESERVED[identifier])
        kind = {"posts": "PostList", "comments": "CommentList", "reactions": "PostReactionList"}[what]
        with self._lock:
            items = list(self.user_activity.get((identifier, what), []))[:limit]
        return 200, {"object": kind, "items": items, "cursor": None, "paging": {"page_count": len(items)}}

    # -- competitor watch: user and company posts, and reactions to them --------------------------------------
    def add_competitor_post(
        self, identifier: str, *, text: str, at: dt.datetime, is_company: bool = False, reactions: int = 0
    ) -> dict[str, Any]:
        """A post by `identifier` (a company's numeric id, or a member's ACo… id), as Unipile lists it."""
        with self._lock:
            number = next(self._ids)
            post = {
                "object": "Post",
                "provider": "LINKEDIN",
                "id": f"7{number:018d}",
                "social_id": f"urn:li:activity:7{number:018d}",
                "share_url": f"https://www.linkedin.com/posts/{identifier}_activity-7{number:018d}",
                "text": text,
                "date": "1d",
                "parsed_datetime": iso(at),
                "reaction_counter": reactions,
                "comment_counter": 0,
                "repost_counter": 0,
                "impressions_counter": 0,
                "author": {
                    "public_identifier": identifier,
                    "id": identifier,
                    "name": identifier,
                    "is_company": is_company,
                },
                "permissions": {"can_react": True, "can_share": True, "can_post_comments": True},
                "is_repost": False,
                "attachments": [],
                "_is_company": is_company,
            }
            self.user_posts.setdefault(identifier, []).insert(0, post)
            return post

    def add_competitor_reaction(self, post: dict[str, Any], person: int, *, value: str = "LIKE") -> None:
        """Searched person number `person` reacted to `post`."""
        who = search_person(person)
        with self._lock:
            self.post_reactions.setdefault(post["social_id"], []).append(
                {
                    "object": "PostReaction",
                    "value": value,
                    "post_id": post["social_id"],
                    "author": {
                        "id": who["id"],
                        "type": "INDIVIDUAL",
                        "name": who["name"],
                        "headline": who["headline"],
                        "profile_url": who["public_profile_url"],
                        "network_distance": "SECOND_DEGREE",
                    },
                }
            )

    def _competitor_route(self, method: str, parts: list[str], query: dict[str, Any]) -> tuple[int, dict] | None:
        """Competitor pages and their posts; a person's own activity and our own posts answer in _route."""
        match method, parts:
            case "GET", ["users", identifier, "posts"] if (
                query.get("is_company") == "true" or identifier in self.user_posts
            ):
                return self._user_posts(identifier, query)
            case "GET", ["posts", post_id, "reactions"] if post_id not in self.posts:
                return self._post_reactions(post_id, query)  # _route has decoded the social id's colons
        return None

    def _user_posts(self, identifier: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account_id = _required(query, "account_id")
        self._account_error(account_id)
        self._recipient_error(identifier)
        with self._lock:
            posts = self.user_posts.get(identifier)
        is_company = query.get("is_company") == "true"
        # An unknown id, or the wrong feed (LinkedIn keeps members' and companies' apart): the contract's 422.
        if posts is None or any(post["_is_company"] != is_company for post in posts):
            raise Reply(422, "errors/invalid_recipient", "Invalid recipient", "No such member or company")
        listed = [{k: v for k, v in post.items() if k != "_is_company"} for post in posts]
        status, body = self._page(listed, query, "PostList")
        body["paging"] = {"page_count": len(body["items"])}
        return status, body

    def _post_reactions(self, post_id: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if account_id := query.get("account_id"):
            self._account_error(account_id)
        with self._lock:
            known = any(p["social_id"] == post_id for posts in self.user_posts.values() for p in posts)
            items = list(self.post_reactions.get(post_id, []))
        if not known:  # the contract lists no 404 here: a post we cannot see is a restricted resource
            raise Reply(403, "errors/resource_access_restricted", "Resource access restricted", "Post not found")
        status, body = self._page(items, query, "PostReactionList")
        page_count, cursor = len(body["items"]), body.pop("cursor")
        body["paging"] = {"cursor": cursor, "start": 0, "page_count": page_count, "total_count": len(items)}
        return status, body

    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["method"] == method and r["path"] == path]

    # -- request handling (server threads) ----------------------------------------------------------------
    def _next(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _store_invite(self, account_id: str, provider_id: str, text: str) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        invite = {
            "object": "InvitationSent",
            "id": self._next("inv"),
            "account_id": account_id,
            "invited_user": provider_id,
            "invited_user_id": provider_id,
            "invited_user_public_id": provider_id.lower(),
            "invited_user_description": "",
            "date": "Sent today",
            "parsed_datetime": iso(now),
            "invitation_text": text or None,
        }
        self.invites.append(invite)
        return invite

    def _store_message(
        self,
        account_id: str,
        chat_id: str,
        sender_id: str,
        text: str,
        at: dt.datetime | None,
        is_sender: bool,
        is_event: bool,
        message_id: str | None,
    ) -> dict[str, Any]:
        message = {
            "object": "Message",
            "id": message_id or self._next("msg"),
            "provider_id": self._next("li-msg"),
            "account_id": account_id,
            "chat_id": chat_id,
            "chat_provider_id": f"li-{chat_id}",
            "sender_id": sender_id,
            "sender_attendee_id": f"att-{sender_id}",
            "text": text,
            "attachments": [],
            "timestamp": iso(at or dt.datetime.now(dt.UTC)),
            "is_sender": 1 if is_sender else 0,
            "is_event": 1 if is_event else 0,
            "seen": 0,
            "hidden": 0,
            "deleted": 0,
            "edited": 0,
            "delivered": 1,
        }
        self.messages.append(message)
        return message

    def _own_id(self, account_id: str) -> str:
        return self.accounts.get(account_id, {}).get("user_id", "ACo-me")

    def _handle(self, h: FakeHandler) -> None:
        url = urlsplit(h.path)
        if url.path.startswith("/hosted/"):
            return self._hosted_page(h, url.path.removeprefix("/hosted/").strip("/"))
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        content_type = h.headers.get("Content-Type") or ""
        record: dict[str, Any] = {
            "method": h.command,
            "path": url.path,
            "query": {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()},
            "headers": {k.lower(): v for k, v in h.headers.items()},
            "content_type": content_type,
            "json": None,
            "form": None,
        }
        if content_type.startswith("application/json") and raw:
            try:
                record["json"] = json.loads(raw)
            except ValueError:
                record["json"] = "<invalid>"
        elif content_type.startswith("multipart/form-data"):
            record["form"] = parse_multipart(content_type, raw)
        with self._lock:
            self.requests.append(record)
            ALL_REQUESTS.append(record)
        try:
            if h.headers.get("X-API-KEY") != self.api_key:
                raise Reply(401, "errors/missing_credentials", "Missing credentials", "Wrong or missing X-API-KEY.")
            status, body = self._route(h.command, url.path, record)
        except Reply as reply:
            status, body = (
                reply.status,
                {
                    "title": reply.title,
                    "detail": reply.detail or reply.title,
                    "instance": url.path,
                    "type": reply.type,
                    "status": reply.status,
                },
            )
        except _HangUp:
            record["status"] = None
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        except _Hang as hang:
            self._stopping.wait(self.hang_seconds)
            status, body = hang.status, hang.body
        record["status"] = status
        h.send_json(status, body)

    def _route(self, method: str, path: str, record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = [unquote(part) for part in path.rstrip("/").split("/")[3:]]  # after /api/v1, as a server decodes
        query, data = record["query"], record["json"] or record["form"] or {}
        if (answer := self._competitor_route(method, parts, query)) is not None:
            return answer
        match method, parts:
            case "POST", ["users", "invite"]:
                return self._invite(data)
            case "GET", ["users", "invite", "sent"]:
                account_id = _required(query, "account_id")
                with self._lock:
                    items = [i for i in self.invites if i["account_id"] == account_id]
                return self._page(items, query)
            case "DELETE", ["users", "invite", "sent", invitation_id]:
                account_id = _required(query, "account_id")
                with self._lock:
                    found = [i for i in self.invites if i["id"] == invitation_id and i["account_id"] == account_id]
                    if not found:
                        raise Reply(404, "errors/resource_not_found", "Resource not found.")
                    self.invites.remove(found[0])
                return 200, {"object": "InvitationCanceled"}
            case "POST", ["chats"]:
                return self._start_chat(data)
            case "POST", ["chats", chat_id, "messages"]:
                return self._send_in_chat(chat_id, data)
            case "GET", ["chats", chat_id, "messages"]:
                with self._lock:
                    items = [m for m in self.messages if m["chat_id"] == chat_id]
                return self._page(self._after(items, query), query)
            case "GET", ["messages"]:
                with self._lock:
                    items = [m for m in self.messages if m["account_id"] == query.get("account_id", m["account_id"])]
                return self._page(self._after(items, query), query)
            case "GET", ["users", "relations"]:
                account_id = _required(query, "account_id")
                with self._lock:
                    items = sorted(
                        (r for r in self.relations if r["account_id"] == account_id),
                        key=lambda r: r["created_at"],
                        reverse=True,
                    )
                return self._page([{k: v for k, v in r.items() if k != "account_id"} for r in items], query)
            case "GET", ["webhooks"]:
                with self._lock:
                    items = list(self.webhooks)
                return self._page(items, query)
            case "POST", ["webhooks"]:
                for field in ("request_url", "source"):
                    _required(data, field)
                with self._lock:
                    webhook = {"object": "Webhook", "id": self._next("wh"), **data}
                    self.webhooks.append(webhook)
                return 201, {"object": "WebhookCreated", "webhook_id": webhook["id"]}
            case "POST", ["linkedin", "search"]:
                return self._search(query, record["json"] or {})
            case "GET", ["linkedin", "search", "parameters"]:
                return self._search_parameters(query)
            case "POST", ["hosted", "accounts", "link"]:
                return self._hosted_link(data)
            case "GET", ["users", "me"]:
                return self._me(_required(query, "account_id"))
            case "POST", ["posts"]:
                return self._publish(data)
            case "GET", ["posts", post_id, "reactions"]:
                return self._reactions(post_id, query)
            case "GET", ["posts", post_id, "comments"]:
                _required(query, "account_id")
                with self._lock:
                    items = list(self._post(post_id)["comments"])
                status, body = self._page(items, query, "CommentList")
                total = len(items)
                return status, {
                    **body,
                    "total_items": total,
                    "paging": {"start": 0, "page_count": 1, "total_count": total},
                }
            case "GET", ["users", identifier, ("posts" | "comments" | "reactions") as what]:
                return self._user_activity(identifier, what, query)
            case "GET", ["users", identifier] if identifier not in ("me", "relations", "invite"):
                return self._profile(identifier, query)
            case "GET", ["accounts"]:
                with self._lock:
                    ids = list(self.accounts)
                return self._page([self._account(account_id) for account_id in ids], query, "AccountList")
            case "GET", ["accounts", account_id]:
                with self._lock:
                    account = self.accounts.get(account_id)
                if account is None:
                    raise Reply(404, "errors/resource_not_found", "Resource not found.", "Account not found")
                return 200, self._account(account_id)
        raise Reply(404, "errors/resource_not_found", "Resource not found.", f"No route {method} {path}")

    # -- posts ------------------------------------------------------------------------------------------------
    def _publish(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account_id, text = _required(data, "account_id"), _required(data, "text")
        link = data.get("external_link")
        if link is not None and not re.match(r"^https?://", str(link)):
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "external_link must be http(s)")
        if len(text) > 3000:
            raise Reply(400, "errors/too_many_characters", "Too many characters")
        self._account_error(account_id)
        outcome = self.post_outcome
        if outcome in RESERVED:
            raise Reply(*RESERVED[outcome])
        with self._lock:
            post_id = f"urn:li:activity:{7000000000 + next(self._ids)}"
            self.posts[post_id] = {
                "account_id": account_id,
                "text": text,
                "external_link": link,
                "as_organization": data.get("as_organization"),
                "reactions": [],
                "comments": [],
            }
        body = {"object": "PostCreated", "post_id": post_id}
        if outcome == "timeout":
            raise Reply(*TIMEOUT)
        if outcome == "hang":
            raise _Hang(201, body)
        return 201, body

    def _post(self, post_id: str) -> dict[str, Any]:
        if post_id not in self.posts:
            raise Reply(404, "errors/resource_not_found", "Resource not found.", "Post not found")
        return self.posts[post_id]

    def _reactions(self, post_id: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _required(query, "account_id")
        with self._lock:
            items = list(self._post(post_id)["reactions"])
        start = int(query.get("cursor") or 0)
        size = min(int(query.get("limit") or 100), self.page_size)
        cursor = str(start + size) if start + size < len(items) else None
        paging = {"cursor": cursor, "start": start, "page_count": 1, "total_count": len(items)}
        return 200, {"object": "PostReactionList", "items": items[start : start + size], "paging": paging}

    # -- search -----------------------------------------------------------------------------------------------
    def _search(self, query: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _required(query, "account_id")
        cursor = query.get("cursor") or body.get("cursor")
        if cursor:
            state = _decode_cursor(cursor)
            api, start = state["api"], state["start"]
        else:
            api, start = _check_search_body(body), 0
        limit = int(query.get("limit") or 10)
        if not 0 < limit <= (100 if api == "sales_navigator" else 50):
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", f"limit {limit} is too high for {api}")
        if (keywords := body.get("keywords")) in SEARCH_RESERVED:
            raise Reply(*SEARCH_RESERVED[keywords])
        items = [search_person(i) for i in range(start, min(start + limit, self.search_size))]
        end = start + len(items)
        return 200, {
            "object": "LinkedinSearch",
            "items": items,
            "config": {"params": {"api": api, "category": "people"}},
            "paging": {"start": start, "page_count": len(items), "total_count": self.search_size},
            "cursor": _encode_cursor(api, end) if end < self.search_size else None,
        }

    def _search_parameters(self, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _required(query, "account_id")
        kind = _required(query, "type")
        text = " ".join(str(query.get("keywords") or "").lower().split())
        found = SEARCH_PARAMETERS.get(kind, {}).get(text, [])[: int(query.get("limit") or 10)]
        items = [{"object": "LinkedinSearchParameter", "id": id_, "title": title} for id_, title in found]
        return 200, {"object": "LinkedinSearchParametersList", "items": items, "paging": {"page_count": len(items)}}

    def _profile(self, identifier: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _required(query, "account_id")
        self._recipient_error(identifier)
        for i in range(self.search_size):
            person = search_person(i)
            if identifier in (person["id"], person["public_identifier"]):
                return 200, search_profile(i)
        raise Reply(404, "errors/resource_not_found", "Resource not found.", "User not found")

    def _account_error(self, account_id: str) -> None:
        with self._lock:
            status = self.accounts.get(account_id, {}).get("status")
        if status == "CREDENTIALS":
            raise Reply(401, "errors/disconnected_account", "Disconnected account")

    # -- hosted auth ------------------------------------------------------------------------------------------
    def _hosted_link(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        kind = data.get("type")
        for field in ("api_url", "expiresOn"):
            _required(data, field)
        if not EXPIRES_ON.match(data["expiresOn"]):
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "expiresOn: YYYY-MM-DDTHH:MM:SS.sssZ")
        if kind == "create":
            if data.get("providers") != ["LINKEDIN"] and data.get("providers") != "*":
                raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "providers is required")
        elif kind == "reconnect":
            with self._lock:
                known = _required(data, "reconnect_account") in self.accounts
            if not known:
                raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "Unknown reconnect_account")
        else:
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "type is create or reconnect")
        with self._lock:
            link_id = self._next("link")
            self.hosted_links[link_id] = dict(data)
        return 200, {"object": "HostedAuthUrl", "url": f"{self.dsn}/hosted/{link_id}"}

    def _hosted_page(self, h: FakeHandler, rest: str) -> None:
        """The sign-in page a rep's browser sees, and its "Connect" link (the rep signed in)."""
        link_id, _, action = rest.partition("/")
        with self._lock:
            link = self.hosted_links.get(link_id)
        if link is None:
            return _send_html(h, 404, "<p>This link expired.</p>")
        if action != "connect":
            label = "Reconnect" if link["type"] == "reconnect" else "Connect"
            page = (
                f'<!doctype html><html lang="en"><head><title>Fake Unipile sign-in</title></head><body><main>'
                f"<h1>Sign in to LinkedIn</h1><p>{html.escape(str(link.get('name') or ''))}</p>"
                f'<a href="/hosted/{link_id}/connect">{label}</a></main></body></html>'
            )
            return _send_html(h, 200, page)
        account_id, status = self._signed_in(link)
        body = {"status": status, "account_id": account_id, "name": link.get("name")}
        notify = link.get("notify_url")
        if notify:
            self._notify(notify, body)
        h.send_response(302)
        h.send_header("Location", link.get("success_redirect_url") or "/")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _signed_in(self, link: dict[str, Any]) -> tuple[str, str]:
        with self._lock:
            if link["type"] == "reconnect":
                self.accounts[link["reconnect_account"]]["status"] = "OK"
                return link["reconnect_account"], "RECONNECTED"
            account_id = self._next("acc")
            self.accounts[account_id] = {"status": "OK", "recruiter": False, **self.next_user}
            return account_id, "CREATION_SUCCESS"

    def _notify(self, url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a URL the test gave)
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        with self._lock:
            self.notifications.append({"url": url, "body": body, "status": status})

    def _me(self, account_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            account = self.accounts.get(account_id)
        if account is None:
            raise Reply(404, "errors/resource_not_found", "Resource not found.", "Account not found")
        seat = {"owner_seat_id": "seat-1", "contract_id": "contract-1"}
        user_id = account["user_id"]
        return 200, {
            "object": "AccountOwnerProfile",
            "provider": "LINKEDIN",
            "provider_id": user_id,
            "entity_urn": f"urn:li:fsd_profile:{user_id}",
            "object_urn": "urn:li:member:1",
            "first_name": "Alice",
            "last_name": "Rivera",
            "profile_picture_url": None,
            "public_identifier": "alice-rivera",
            "email": "alice@example.com",
            "premium": account.get("premium", False),
            "open_profile": False,
            "organizations": [],
            "recruiter": seat if account.get("recruiter") else None,
            "sales_navigator": seat if account.get("sales_navigator") else None,
        }

    def _recipient_error(self, provider_id: str) -> None:
        """Answers that mean nothing was sent (or, for ACo-drop, no answer at all)."""
        if provider_id == "ACo-drop":
            raise _HangUp()
        if provider_id in RESERVED:
            raise Reply(*RESERVED[provider_id])

    def _invite(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        provider_id, account_id = _required(data, "provider_id"), _required(data, "account_id")
        note = data.get("message") or ""
        self._account_error(account_id)
        self._recipient_error(provider_id)
        if len(note) > 300:
            raise Reply(400, "errors/too_many_characters", "Too many characters")
        with self._lock:
            invite = self._store_invite(account_id, provider_id, note)
        body: dict[str, Any] = {"object": "UserInvitationSent", "invitation_id": invite["id"]}
        if self.usage is not None:
            body["usage"] = self.usage
        return self._after_send(provider_id, 200, body)

    def _start_chat(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account_id, text = _required(data, "account_id"), data.get("text") or ""
        attendees = data.get("attendees_ids")
        provider_id = attendees[0] if isinstance(attendees, list) else attendees
        if not provider_id:
            raise Reply(400, "errors/missing_parameters", "Missing parameters", "attendees_ids is required")
        self._account_error(account_id)
        self._recipient_error(provider_id)
        with self._lock:
            chat_id = self._next("chat")
            self.chats[chat_id] = {"account_id": account_id, "attendee": provider_id}
            message = self._store_message(account_id, chat_id, self._own_id(account_id), text, None, True, False, None)
        body = {"object": "ChatStarted", "chat_id": chat_id, "message_id": message["id"]}
        return self._after_send(provider_id, 201, body)

    def _send_in_chat(self, chat_id: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            chat = self.chats.get(chat_id)
        if chat is None:
            raise Reply(404, "errors/resource_not_found", "Resource not found.", "Chat not found")
        account_id = data.get("account_id") or chat["account_id"]
        if account_id != chat["account_id"]:
            raise Reply(403, "errors/account_mismatch", "Account mismatch")
        self._account_error(account_id)
        self._recipient_error(chat["attendee"])
        with self._lock:
            message = self._store_message(
                account_id, chat_id, self._own_id(account_id), data.get("text") or "", None, True, False, None
            )
        return self._after_send(chat["attendee"], 201, {"object": "MessageSent", "message_id": message["id"]})

    def _after_send(self, provider_id: str, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The send is recorded; the special recipients now lose or delay the answer."""
        if provider_id == "ACo-timeout":
            raise Reply(*TIMEOUT)
        if provider_id == "ACo-hang":
            raise _Hang(status, body)
        return status, body

    def _after(self, items: list[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
        if after := query.get("after"):
            items = [m for m in items if _parse_iso(m["timestamp"]) > _parse_iso(after)]
        return sorted(items, key=lambda m: m["timestamp"], reverse=True)  # newest first

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, Any], kind: str = "List"
    ) -> tuple[int, dict[str, Any]]:
        start = int(query.get("cursor") or 0)
        size = min(int(query.get("limit") or 100), self.page_size)
        page = items[start : start + size]
        cursor = str(start + size) if start + size < len(items) else None
        return 200, {"object": kind, "items": page, "cursor": cursor}

    def _account(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            account = self.accounts[account_id]
        return {
            "object": "Account",
            "type": "LINKEDIN",
            "id": account_id,
            "name": "Fake LinkedIn",
            "created_at": iso(dt.datetime.now(dt.UTC)),
            "connection_params": {"im": {"id": account["user_id"], "username": "Fake"}},
            "sources": [{"id": f"{account_id}_MESSAGING", "status": account["status"]}],
        }


class _Hang(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__("hang")
        self.status, self.body = status, body


class _HangUp(Exception):
    pass


def _send_html(h: FakeHandler, status: int, page: str) -> None:
    data = page.encode()
    h.send_response(status)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def _encode_cursor(api: str, start: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"api": api, "start": start}).encode()).decode()


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return {"api": str(state["api"]), "start": int(state["start"])}
    except (ValueError, KeyError, TypeError):
        raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "Unknown cursor") from None


def _ids(value: Any, name: str) -> None:
    """A filter takes LinkedIn's numeric ids, never text (the parameters route resolves text)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.isdigit() for v in value):
        raise Reply(400, "errors/invalid_parameters", "Invalid parameters", f"{name} takes a list of ids")


def _check_search_body(body: dict[str, Any]) -> str:
    """The search's api for a valid people search body; 400 as Unipile answers otherwise."""
    if "url" in body:
        url = body["url"]
        if not isinstance(url, str) or not url.startswith("https://www.linkedin.com/"):
            raise Reply(400, "errors/invalid_url", "Invalid URL")
        return "sales_navigator" if "/sales/" in url else "classic"
    api = body.get("api")
    if api not in ("classic", "sales_navigator") or body.get("category") != "people":
        raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "api and category=people are required")
    if api == "classic":
        for name in ("location", "industry", "company", "school"):
            if name in body:
                _ids(body[name], name)
        return api
    for name in ("location", "industry", "function", "company"):
        if name in body:
            for part in ("include", "exclude"):
                if part in body[name]:
                    _ids(body[name][part], f"{name}.{part}")
    role = body.get("role", {}).get("include", [])
    if not all(isinstance(r, str) and r for r in role):
        raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "role.include takes ids or titles")
    if not set(body.get("seniority", {}).get("include", [])) <= SN_SENIORITIES:
        raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "unknown seniority")
    for band in body.get("company_headcount", []):
        if band.get("min") not in HEADCOUNT_MIN or band.get("max", 10) not in HEADCOUNT_MAX:
            raise Reply(400, "errors/invalid_parameters", "Invalid parameters", "company_headcount bands are fixed")
    return api


def _required(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not value or not isinstance(value, str):
        raise Reply(400, "errors/missing_parameters", "Missing parameters", f"{name} is required")
    return value
