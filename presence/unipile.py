"""Posts through Unipile v1 (vendored OpenAPI: POST /posts, GET /posts/{id}/reactions and /comments).

Only this module knows those field names. A publish that may have reached LinkedIn (504, a read
timeout, a dropped connection) cannot be checked against a list of our own posts here, so it is
SendOutcomeUnknown at once: a person looks at the page before anything is published again.
"""

from typing import Any

import requests

from outreach.channels.base import ChannelError, ChannelUnavailable, SendOutcomeUnknown
from outreach.channels.unipile import (
    NOT_CONFIGURED,
    ApiError,
    UnipileClient,
    _read,
    _seg,
    detail_for,
    may_have_gone_out,
    never_left,
    normalise,
)
from presence.channels import Engager, PublishResult
from presence.models import Post


class UnipilePosts:
    def publish(self, post: Post) -> PublishResult:
        client = UnipileClient()
        if not client.configured:
            return PublishResult(error=ChannelError.ACCOUNT_RESTRICTED, detail=NOT_CONFIGURED)
        if not post.account.provider_account_id:
            return PublishResult(error=ChannelError.ACCOUNT_RESTRICTED, detail="The account has no Unipile account id")
        fields = [("account_id", post.account.provider_account_id), ("text", post.text)]
        if post.link:
            fields.append(("external_link", post.link))
        if post.as_organization:
            fields.append(("as_organization", post.as_organization))
        try:
            data = client.call("POST", "/api/v1/posts", fields=fields)
        except ApiError as exc:
            if may_have_gone_out(exc):
                raise SendOutcomeUnknown(
                    f"Unipile answered {exc} ({exc.status}): the post may be on LinkedIn. Look before publishing again."
                ) from exc
            return PublishResult(error=normalise(exc), detail=detail_for(exc))
        except requests.RequestException as exc:
            if never_left(exc):
                return PublishResult(error=ChannelError.TRANSIENT, detail=f"Unipile unreachable: {type(exc).__name__}")
            raise SendOutcomeUnknown(
                f"The connection to Unipile failed after the post was sent ({type(exc).__name__}). "
                "Look at LinkedIn before publishing again."
            ) from exc
        return PublishResult(provider_post_id=str(data.get("post_id") or ""))

    def engagers(self, post: Post) -> list[Engager]:
        client = UnipileClient()
        if not client.configured:
            raise ChannelUnavailable(NOT_CONFIGURED)
        params = {"account_id": post.account.provider_account_id, "limit": 100}
        base = f"/api/v1/posts/{_seg(post.provider_post_id)}"
        reactions = _read(lambda: [i for page in _pages(client, f"{base}/reactions", params) for i in page])
        comments = _read(lambda: [i for page in client.pages(f"{base}/comments", params) for i in page])
        return [e for e in [*map(_reaction, reactions), *map(_comment, comments)] if e.provider_id]

    def profile(self, post: Post, provider_id: str) -> Engager | None:
        """Who a commenter is (a comment names them by id only). Each call is a profile view: the caller counts it."""
        client = UnipileClient()
        params = {"account_id": post.account.provider_account_id, "notify": "false"}
        try:
            data = client.call("GET", f"/api/v1/users/{_seg(provider_id)}", params=params)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise ChannelUnavailable(f"Unipile: {detail_for(exc)}") from exc
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"Unipile unreachable: {type(exc).__name__}") from exc
        slug = str(data.get("public_identifier") or "")
        return Engager(
            kind="comment",
            provider_id=provider_id,
            name=" ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip(),
            headline=str(data.get("headline") or ""),
            profile_url=f"https://www.linkedin.com/in/{slug}" if slug else "",
        )


def _pages(client: UnipileClient, path: str, params: dict[str, Any]):
    """Reactions carry their cursor in `paging` (the contract), not at the top like other lists."""
    cursor = None
    for _ in range(50):
        page = client.call("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
        yield page.get("items") or []
        next_cursor = (page.get("paging") or {}).get("cursor") or page.get("cursor")
        if not next_cursor or next_cursor == cursor:
            return
        cursor = next_cursor


def _reaction(item: dict[str, Any]) -> Engager:
    author = item.get("author") or {}
    return Engager(
        kind="reaction",
        provider_id=str(author.get("id") or ""),
        name=str(author.get("name") or ""),
        headline=str(author.get("headline") or ""),
        profile_url=str(author.get("profile_url") or ""),
        value=str(item.get("value") or ""),
        is_company=author.get("type") == "COMPANY",
    )


def _comment(item: dict[str, Any]) -> Engager:
    # A comment names its author by ids only: the name comes from a profile read later (a profile view).
    author = item.get("author")
    if not isinstance(author, dict):
        return Engager(kind="comment", provider_id="")
    slug = str(author.get("public_identifier") or "")
    return Engager(
        kind="comment",
        provider_id=str(author.get("provider_id") or ""),
        profile_url=f"https://www.linkedin.com/in/{slug}" if slug else "",
        value=str(item.get("text") or "")[:1250],
    )
