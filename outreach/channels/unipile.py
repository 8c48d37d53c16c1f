"""LinkedIn through Unipile's REST API v1 (providers.md §1): the only module that knows its field names.

Errors are normalised by the body's `type` and the status (§1.9), never by `detail`. A send that
may have reached LinkedIn (504, a read timeout, a dropped connection) is checked against the sent
invitations or the chat before anyone calls it lost; if that cannot settle it, SendOutcomeUnknown.
"""

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from leads.dedupe import linkedin_public_identifier as public_identifier
from leads.models import Lead
from outreach.channels.base import (
    ChannelError,
    ChannelUnavailable,
    InboundItem,
    PendingInvite,
    Relation,
    SendOutcomeUnknown,
    SendResult,
)
from outreach.limits import profile_view_take
from outreach.models import OutreachMessage, SendingAccount
from salesdept import clock
from salesdept.teamconfig import Check, UnipileConfig, redact, unipile_config

log = logging.getLogger(__name__)
T = TypeVar("T")
Kind = OutreachMessage.Kind

NOT_CONFIGURED = "Unipile is not configured: set its DSN and key on Settings, or UNIPILE_DSN and UNIPILE_API_KEY"
CONNECT_TIMEOUT = 5.0
MAX_PAGES = 200  # a cursor that never ends must not hold a worker forever
# How far back the "did it go out?" check looks, allowing for clock skew between us and Unipile.
CHECK_SKEW = dt.timedelta(minutes=2)

# providers.md §1.9, by HTTP status and the body's `type`.
ACCOUNT_AUTH_TYPES = {
    "errors/disconnected_account",
    "errors/expired_credentials",
    "errors/invalid_credentials",
    "errors/checkpoint_error",
    "errors/captcha_not_supported",
}
ACCOUNT_RESTRICTED_TYPES = {
    "errors/account_restricted",
    "errors/feature_not_subscribed",
    "errors/insufficient_permissions",
    "errors/subscription_required",  # a plan gap, like feature_not_subscribed
    "errors/action_required",  # LinkedIn wants the owner to do something first
}
DUPLICATE_TYPES = {"errors/already_invited_recently", "errors/cannot_resend_yet", "errors/cannot_resend_within_24hrs"}
NOT_CONNECTED_TYPES = {
    "errors/no_connection_with_recipient",
    "errors/not_allowed_inmail",
    "errors/insufficient_credits",
    "errors/cannot_invite_attendee",
    "errors/blocked_recipient",
    "errors/user_unreachable",
}


@dataclass(eq=False)
class ApiError(Exception):
    """Unipile answered with an error status and (usually) its standard error body."""

    status: int
    type: str = ""
    title: str = ""

    def __str__(self) -> str:
        return f"{self.type or f'HTTP {self.status}'}: {self.title}".rstrip(": ")


def normalise(error: ApiError) -> ChannelError:
    """The port's error for a Unipile error that provably changed nothing."""
    status, kind = error.status, error.type
    if status == 401:
        # Any other 401 is about our API key (missing_credentials...): our configuration. No message can go
        # until someone fixes it, so the account pauses (ACCOUNT_RESTRICTED) rather than fail them one by one.
        return ChannelError.ACCOUNT_DISCONNECTED if kind in ACCOUNT_AUTH_TYPES else ChannelError.ACCOUNT_RESTRICTED
    if status == 403:
        return ChannelError.ACCOUNT_RESTRICTED if kind in ACCOUNT_RESTRICTED_TYPES else ChannelError.FATAL
    if status == 422:
        if kind in DUPLICATE_TYPES:
            return ChannelError.DUPLICATE
        if kind == "errors/limit_exceeded":
            return ChannelError.RATE_LIMITED
        if kind in NOT_CONNECTED_TYPES:
            return ChannelError.NOT_CONNECTED
        return ChannelError.FATAL
    if status == 429:
        return ChannelError.RATE_LIMITED
    if (status == 500 and kind == "errors/provider_error") or status == 503:
        return ChannelError.TRANSIENT  # refused before anything was done
    return ChannelError.FATAL


def may_have_gone_out(error: ApiError) -> bool:
    """A gateway timeout, or a server error other than the provider's refusal: the send may have happened."""
    return error.status in (502, 504) or (error.status == 500 and error.type != "errors/provider_error")


def detail_for(error: ApiError) -> str:
    detail = str(error)
    if error.status == 401 and error.type not in ACCOUNT_AUTH_TYPES:
        detail += " (Unipile refused our API key: check UNIPILE_API_KEY or the key on Settings)"
    return detail


def never_left(exc: requests.RequestException) -> bool:
    """The connection was refused or never made: the request cannot have reached Unipile."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


_session: requests.Session | None = None
_session_pid = 0
_session_lock = threading.Lock()


def _http() -> requests.Session:
    """One pooled session per process (a forked worker makes its own)."""
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            _session, _session_pid = requests.Session(), os.getpid()
        return _session


def iso(moment: dt.datetime) -> str:
    """Unipile's datetime filters: YYYY-MM-DDTHH:MM:SS.sssZ in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO string, or epoch seconds or milliseconds (relations' `created_at` is a number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)
    return None


@dataclass(frozen=True)
class OwnProfile:
    """The connected account's own LinkedIn member and plan."""

    provider_id: str
    name: str
    premium: bool
    sales_navigator: bool
    recruiter: bool


class UnipileClient:
    """Thin HTTP access: base URL, key, timeouts, logging, and ApiError for error answers."""

    def __init__(self, config: UnipileConfig | None = None) -> None:
        """The team's configured tenant, or `config` (a manager's values being tested before they are saved)."""
        config = config or unipile_config()
        dsn, self.key = config.dsn, config.api_key
        if dsn and "://" not in dsn:
            dsn = f"https://{dsn}"  # Unipile shows the DSN as host:port
        self.base = dsn.rstrip("/").removesuffix("/api/v1")
        self.timeout = (CONNECT_TIMEOUT, settings.UNIPILE_TIMEOUT_SECONDS)

    @property
    def configured(self) -> bool:
        return bool(self.base and self.key)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        fields: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        # Plain form fields as (None, value) parts: requests then really sends multipart/form-data.
        files = [(name, (None, value)) for name, value in fields] if fields is not None else None
        try:
            response = _http().request(
                method,
                self.base + path,
                params=params,
                json=json,
                files=files,
                headers={"X-API-KEY": self.key, "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            log.warning("unipile %s %s failed: %s", method, path, type(exc).__name__)
            raise
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        if response.status_code >= 400:
            error = ApiError(response.status_code, str(body.get("type") or ""), str(body.get("title") or ""))
            log.warning("unipile %s %s -> %s %s", method, path, response.status_code, error.type or "-")
            raise error
        log.info("unipile %s %s -> %s", method, path, response.status_code)
        return body

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every item of a cursor-paged list, page by page."""
        cursor = None
        for _ in range(MAX_PAGES):
            page = self.call("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
            yield page.get("items") or []
            next_cursor = page.get("cursor")
            if not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor
        log.warning("unipile GET %s: stopped after %s pages", path, MAX_PAGES)

    # -- a person's activity (leads.intent): the first page only, newest first; the latest is what counts --------
    def user_posts(self, *, account_id: str, identifier: str, limit: int = 10) -> list[dict[str, Any]]:
        """Posts the person wrote (`GET /users/{identifier}/posts`)."""
        return self._user_items(identifier, "posts", account_id, limit)

    def user_comments(self, *, account_id: str, identifier: str, limit: int = 10) -> list[dict[str, Any]]:
        """Comments the person wrote on anyone's posts (`GET /users/{identifier}/comments`)."""
        return self._user_items(identifier, "comments", account_id, limit)

    def user_reactions(self, *, account_id: str, identifier: str, limit: int = 10) -> list[dict[str, Any]]:
        """Posts the person reacted to (`GET /users/{identifier}/reactions`)."""
        return self._user_items(identifier, "reactions", account_id, limit)

    def _user_items(self, identifier: str, what: str, account_id: str, limit: int) -> list[dict[str, Any]]:
        params = {"account_id": account_id, "limit": limit}
        page = self.call("GET", f"/api/v1/users/{quote(identifier, safe='')}/{what}", params=params)
        return [item for item in page.get("items") or [] if isinstance(item, dict)]


def _read(call: Callable[[], T]) -> T:
    """Reads raise ChannelUnavailable, whatever went wrong, and nothing is half-done."""
    try:
        return call()
    except ApiError as exc:
        raise ChannelUnavailable(f"Unipile: {detail_for(exc)}") from exc
    except requests.RequestException as exc:
        raise ChannelUnavailable(f"Unipile unreachable: {type(exc).__name__}") from exc


class UnipileChannel:
    # -- sending -----------------------------------------------------------------------------------------------
    def send(self, message: OutreachMessage) -> SendResult:
        client = UnipileClient()
        # A setup problem stops the account (and tells its owner), not each message in turn.
        if not client.configured:
            return SendResult(error=ChannelError.ACCOUNT_RESTRICTED, detail=NOT_CONFIGURED)
        account, provider_id = message.account, message.lead.provider_id
        if not account.provider_account_id:
            return SendResult(error=ChannelError.ACCOUNT_RESTRICTED, detail="The account has no Unipile account id")
        if not provider_id and (looked_up := self._provider_id_from_profile(client, message)):
            if isinstance(looked_up, SendResult):
                return looked_up
            provider_id = looked_up
        if not provider_id:  # another channel may still reach them
            return SendResult(error=ChannelError.NOT_CONNECTED, detail="The lead has no LinkedIn provider id")
        started = clock.now()
        match message.kind:
            case Kind.CONNECTION_NOTE:
                return self._invite(client, account, provider_id, message.body)
            case Kind.MESSAGE:
                chat_id = message.chat_id or _known_chat(message)
                if chat_id:
                    return self._message_in_chat(client, account, chat_id, message.body, started)
                return self._new_chat(client, account, provider_id, message, started, inmail=False)
            case Kind.INMAIL:
                return self._new_chat(client, account, provider_id, message, started, inmail=True)
        return SendResult(error=ChannelError.FATAL, detail=f"Unipile does not send {message.kind} here")

    def _provider_id_from_profile(self, client: UnipileClient, message: OutreachMessage) -> str | SendResult:
        """The LinkedIn id of a lead known only by profile URL (a CSV import, Apollo), read once and kept.

        A profile lookup is a visit LinkedIn counts: it takes one of the account's daily profile views.
        "" when the URL names no profile or LinkedIn knows none there.
        """
        lead, account = message.lead, message.account
        identifier = public_identifier(lead.linkedin_url)
        if not identifier:
            return ""
        if not profile_view_take(account, clock.now()):
            return SendResult(
                error=ChannelError.PROFILE_VIEWS_USED,
                detail=f"{account} used its profile views for today; {lead}'s LinkedIn id is read tomorrow",
            )
        params = {"account_id": account.provider_account_id, "notify": "false"}
        try:
            data = client.call("GET", f"/api/v1/users/{_seg(identifier)}", params=params)
        except ApiError as exc:
            if exc.status == 404:
                return ""
            return SendResult(error=normalise(exc), detail=f"Reading the profile: {detail_for(exc)}")
        except requests.RequestException as exc:
            return SendResult(error=ChannelError.TRANSIENT, detail=f"Reading the profile: {type(exc).__name__}")
        provider_id = str(data.get("provider_id") or "")
        if provider_id:
            Lead.objects.filter(pk=lead.pk, provider_id="").update(provider_id=provider_id)
        return provider_id

    def _invite(self, client: UnipileClient, account: SendingAccount, provider_id: str, note: str) -> SendResult:
        body = {"provider_id": provider_id, "account_id": account.provider_account_id}
        if note:
            body["message"] = note
        try:
            data = client.call("POST", "/api/v1/users/invite", json=body)
        except (ApiError, requests.RequestException) as exc:
            return self._failed(exc, partial(self._find_invite, client, account, provider_id), "invitation")
        usage = data.get("usage")
        return SendResult(
            provider_message_id=str(data.get("invitation_id") or ""),
            quota_used_pct=round(usage) if isinstance(usage, int | float) else None,
        )

    def _message_in_chat(
        self, client: UnipileClient, account: SendingAccount, chat_id: str, text: str, started: dt.datetime
    ) -> SendResult:
        fields = [("text", text), ("account_id", account.provider_account_id)]
        try:
            data = client.call("POST", f"/api/v1/chats/{_seg(chat_id)}/messages", fields=fields)
        except (ApiError, requests.RequestException) as exc:
            return self._failed(exc, partial(self._find_in_chat, client, chat_id, text, started), "message")
        return SendResult(provider_message_id=str(data.get("message_id") or ""), chat_id=chat_id)

    def _new_chat(
        self,
        client: UnipileClient,
        account: SendingAccount,
        provider_id: str,
        message: OutreachMessage,
        started: dt.datetime,
        *,
        inmail: bool,
    ) -> SendResult:
        fields = [("account_id", account.provider_account_id), ("attendees_ids", provider_id), ("text", message.body)]
        if inmail:
            fields.append(("linkedin[inmail]", "true"))
            if message.subject:
                fields.append(("subject", message.subject))
        else:
            fields.append(("linkedin[api]", "classic"))
        try:
            data = client.call("POST", "/api/v1/chats", fields=fields)
        except (ApiError, requests.RequestException) as exc:
            find = partial(self._find_sent_text, client, account, message.body, started)
            return self._failed(exc, find, "InMail" if inmail else "message")
        return SendResult(provider_message_id=str(data.get("message_id") or ""), chat_id=str(data.get("chat_id") or ""))

    def _failed(self, exc: Exception, find: Callable[[], SendResult | None], what: str) -> SendResult:
        """An error answer: normalised when nothing went out, checked when it may have."""
        if isinstance(exc, ApiError):
            if not may_have_gone_out(exc):
                return SendResult(error=normalise(exc), detail=detail_for(exc))
            cause = f"Unipile answered {exc} ({exc.status})"
        elif never_left(exc):
            return SendResult(error=ChannelError.TRANSIENT, detail=f"Unipile unreachable: {type(exc).__name__}")
        else:
            cause = f"The connection to Unipile failed after the request was sent ({type(exc).__name__})"
        try:
            found = find()
        except (ApiError, requests.RequestException) as check_exc:
            raise SendOutcomeUnknown(
                f"{cause}, and checking whether the {what} went out failed ({check_exc}). "
                "Look at LinkedIn before sending again."
            ) from exc
        if found is None:
            # Not visible yet is not proof of absence: LinkedIn may still deliver it.
            raise SendOutcomeUnknown(
                f"{cause}, and the {what} is not visible on LinkedIn yet. Look at LinkedIn before sending again."
            ) from exc
        log.info("unipile: %s confirmed sent after %s", what, cause)
        return found

    # -- "did it go out?" ------------------------------------------------------------------------------------
    def _find_invite(self, client: UnipileClient, account: SendingAccount, provider_id: str) -> SendResult | None:
        # A pending invitation to them is what we wanted, whichever request created it.
        for items in client.pages("/api/v1/users/invite/sent", {"account_id": account.provider_account_id}):
            for item in items:
                if item.get("invited_user_id") == provider_id:
                    return SendResult(provider_message_id=str(item.get("id") or ""))
        return None

    def _find_in_chat(self, client: UnipileClient, chat_id: str, text: str, started: dt.datetime) -> SendResult | None:
        page = client.call(
            "GET", f"/api/v1/chats/{_seg(chat_id)}/messages", params={"after": iso(started - CHECK_SKEW), "limit": 50}
        )
        for item in page.get("items") or []:
            if item.get("is_sender") and _same_text(item.get("text"), text):
                return SendResult(provider_message_id=str(item.get("id") or ""), chat_id=chat_id)
        return None

    def _find_sent_text(
        self, client: UnipileClient, account: SendingAccount, text: str, started: dt.datetime
    ) -> SendResult | None:
        """A new chat's id is unknown: look for our exact text among the account's messages since the send."""
        params = {"account_id": account.provider_account_id, "after": iso(started - CHECK_SKEW), "limit": 250}
        for items in client.pages("/api/v1/messages", params):
            for item in items:
                if item.get("is_sender") and _same_text(item.get("text"), text):
                    return SendResult(provider_message_id=str(item.get("id") or ""), chat_id=str(item.get("chat_id")))
        return None

    # -- reading -------------------------------------------------------------------------------------------------
    def fetch_messages(self, account: SendingAccount, *, since: dt.datetime, now: dt.datetime) -> list[InboundItem]:
        client = _client_or_unavailable()
        params = {"account_id": account.provider_account_id, "after": iso(since), "limit": 250}
        pages = _read(lambda: list(client.pages("/api/v1/messages", params)))
        items = []
        for item in (item for page in pages for item in page):
            sender = str(item.get("sender_id") or "")
            if item.get("is_sender") or item.get("is_event"):
                continue  # our own sends (also from the phone), reactions and other events
            if account.provider_user_id and sender == account.provider_user_id:
                continue
            received_at = parse_time(item.get("timestamp"))
            if not item.get("id") or received_at is None:
                log.warning("unipile message without id or timestamp skipped")
                continue
            items.append(
                InboundItem(
                    provider_id=f"unipile:{item['id']}",
                    sender_provider_id=sender,
                    text=item.get("text") or "",
                    received_at=received_at,
                    chat_id=str(item.get("chat_id") or ""),
                    subject=item.get("subject") or "",
                )
            )
        return items

    def acknowledge(self, account: SendingAccount, items: list[InboundItem]) -> None:
        """Polling reads a time window; there is no cursor to move."""

    def list_relations(self, account: SendingAccount, *, since: dt.datetime) -> list[Relation]:
        client = _client_or_unavailable()

        def read() -> list[Relation]:
            relations = []
            # Newest first: once a page reaches connections older than `since`, the rest are older still.
            for page in client.pages("/api/v1/users/relations", {"account_id": account.provider_account_id}):
                older = False
                for item in page:
                    connected_at = parse_time(item.get("created_at"))
                    if connected_at is None or not item.get("member_id"):
                        continue
                    if connected_at < since:
                        older = True
                        continue
                    relations.append(Relation(provider_id=str(item["member_id"]), connected_at=connected_at))
                if older:
                    break
            return relations

        return _read(read)

    def list_pending_invites(self, account: SendingAccount) -> list[PendingInvite]:
        client = _client_or_unavailable()
        params = {"account_id": account.provider_account_id, "limit": 100}
        pages = _read(lambda: list(client.pages("/api/v1/users/invite/sent", params)))
        invites = []
        for item in (item for page in pages for item in page):
            if not item.get("id") or not item.get("invited_user_id"):
                continue
            # `date` is often LinkedIn's prose ("Sent 2 weeks ago"); callers age invites by our own sent_at.
            sent_at = parse_time(item.get("parsed_datetime")) or parse_time(item.get("date")) or clock.now()
            invites.append(
                PendingInvite(invitation_id=str(item["id"]), provider_id=str(item["invited_user_id"]), sent_at=sent_at)
            )
        return invites

    def withdraw_invite(self, account: SendingAccount, *, invitation_id: str) -> None:
        client = _client_or_unavailable()
        _read(
            lambda: client.call(
                "DELETE",
                f"/api/v1/users/invite/sent/{_seg(invitation_id)}",
                params={"account_id": account.provider_account_id},
            )
        )

    def own_provider_id(self, account: SendingAccount) -> str:
        """The LinkedIn id of the account's own person (connection_params.im.id): how its own sends are told apart."""
        client = _client_or_unavailable()
        data = _read(lambda: client.call("GET", f"/api/v1/accounts/{_seg(account.provider_account_id)}"))
        own = str(((data.get("connection_params") or {}).get("im") or {}).get("id") or "")
        if not own:
            raise ChannelUnavailable("Unipile did not say which LinkedIn member the account is.")
        return own

    def own_profile(self, account: SendingAccount) -> OwnProfile:
        """Who the account is on LinkedIn and what its plan allows (GET /users/me)."""
        client = _client_or_unavailable()
        params = {"account_id": account.provider_account_id}
        data = _read(lambda: client.call("GET", "/api/v1/users/me", params=params))
        own = str(data.get("provider_id") or "")
        if not own:
            raise ChannelUnavailable("Unipile did not say which LinkedIn member the account is.")
        return OwnProfile(
            provider_id=own,
            name=" ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip(),
            premium=data.get("premium") is True,
            # A seat is an object with its ids; {"error": "DISCONNECTED"} or null is no usable seat.
            sales_navigator=_seat(data.get("sales_navigator")),
            recruiter=_seat(data.get("recruiter")),
        )

    def account_status(self, account: SendingAccount) -> str:
        """The worst status of the account's sources (OK, CREDENTIALS, ...): the health job's webhook fallback."""
        client = _client_or_unavailable()
        data = _read(lambda: client.call("GET", f"/api/v1/accounts/{_seg(account.provider_account_id)}"))
        statuses = [str(source.get("status") or "") for source in data.get("sources") or []]
        return next((status for status in statuses if status != "OK"), "OK" if statuses else "")


def _seat(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("contract_id")) and "error" not in value


def hosted_link(
    *,
    name: str,
    notify_url: str,
    success_url: str,
    failure_url: str,
    expires_at: dt.datetime,
    reconnect_account: str = "",
) -> str:
    """Unipile's hosted sign-in page for a new LinkedIn account, or to reconnect one (§1.2). Its URL.

    `name` comes back in the notify call; the rep never gives us their LinkedIn password.
    Raises ChannelUnavailable, with Unipile's reason, when no link can be made.
    """
    client = _client_or_unavailable()
    body: dict[str, Any] = {
        "type": "reconnect" if reconnect_account else "create",
        "api_url": client.base,
        "expiresOn": iso(expires_at),
        "name": name,
        "notify_url": notify_url,
        "success_redirect_url": success_url,
        "failure_redirect_url": failure_url,
    }
    if reconnect_account:
        body["reconnect_account"] = reconnect_account
    else:
        body["providers"] = ["LINKEDIN"]
    data = _read(partial(client.call, "POST", "/api/v1/hosted/accounts/link", json=body))
    url = str(data.get("url") or "")
    if not url.startswith(("https://", "http://")):
        raise ChannelUnavailable("Unipile answered no sign-in link.")
    return url


def _seg(value: str) -> str:
    """An id as one path segment, whatever it contains."""
    return quote(value, safe="")


def _client_or_unavailable() -> UnipileClient:
    client = UnipileClient()
    if not client.configured:
        raise ChannelUnavailable(NOT_CONFIGURED)
    return client


def _known_chat(message: OutreachMessage) -> str:
    """The conversation we already have with this lead from this account, if any."""
    return (
        OutreachMessage.objects.filter(
            lead_id=message.lead_id, account_id=message.account_id, status=OutreachMessage.Status.SENT
        )
        .exclude(chat_id="")
        .order_by("-sent_at", "-pk")
        .values_list("chat_id", flat=True)
        .first()
        or ""
    )


def _same_text(theirs: str | None, ours: str) -> bool:
    return (theirs or "").strip() == ours.strip()


# The webhooks the product listens to (providers.md §1.8), by Unipile source.
WEBHOOKS = {
    "messaging": ["message_received"],
    "users": ["new_relation"],
    "account_status": [
        "credentials",
        "error",
        "stopped",
        "permissions",
        "deleted",
        "ok",
        "reconnected",
        "sync_success",
    ],
}


def webhooks_register(*, request_url: str, secret: str) -> list[str]:
    """Ask Unipile to call `request_url` for each source we need; sources already pointed there are kept.

    Returns the sources registered now. API-made webhooks send no JSON content type and no
    secret by default (§1.8): both go in `headers`.
    """
    client = UnipileClient()
    if not client.configured:
        raise ChannelUnavailable(NOT_CONFIGURED)
    existing = _read(
        lambda: {
            webhook.get("source")
            for page in client.pages("/api/v1/webhooks", {})
            for webhook in page
            if webhook.get("request_url") == request_url
        }
    )
    registered = []
    for source, events in WEBHOOKS.items():
        if source in existing:
            continue
        body = {
            "request_url": request_url,
            "name": f"salesdept-{source}",
            "format": "json",
            "enabled": True,
            "source": source,
            "events": events,
            "headers": [
                {"key": "Content-Type", "value": "application/json"},
                {"key": "X-Webhook-Secret", "value": secret},
            ],
        }
        if events:
            body["events"] = events
        _read(partial(client.call, "POST", "/api/v1/webhooks", json=body))
        registered.append(source)
    return registered


@sensitive_variables("config")
def unipile_check(config: UnipileConfig) -> Check:
    """One real call (GET /accounts) with a DSN and key not yet saved: the accounts it sees, or its error in words."""
    client = UnipileClient(config)
    where = client.base or "(no DSN)"
    if not client.configured:
        return Check(False, "Enter the DSN and the API key Unipile's dashboard shows.")
    try:
        body = client.call("GET", "/api/v1/accounts", params={"limit": 100})
    except ApiError as error:
        return Check(False, redact(f"Unipile at {where} answered {error.status}: {error}", config.api_key))
    except requests.Timeout:
        return Check(False, f"No answer from {where} within {settings.UNIPILE_TIMEOUT_SECONDS:g} s.")
    except requests.RequestException:
        return Check(False, f"Could not connect to {where}.")
    count = len(body.get("items") or [])
    more = "+" if body.get("cursor") else ""
    return Check(True, f"Unipile at {where} answered: {count}{more} connected account{'s' if count != 1 else ''}.")
