"""The posting port: publish one post, read who reacted and commented. One adapter per channel.

Like the message port (outreach.channels.base), a refusal that provably changed nothing is an
`error`; when the request may have reached LinkedIn, the adapter raises SendOutcomeUnknown and a
person checks: a post is never published twice.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from outreach.channels.base import ChannelError

if TYPE_CHECKING:
    from presence.models import Post


@dataclass(frozen=True)
class PublishResult:
    provider_post_id: str = ""
    error: ChannelError | None = None
    detail: str = ""


@dataclass(frozen=True)
class Engager:
    """A person (or company) who reacted to or commented on a post."""

    kind: str  # "reaction" or "comment"
    provider_id: str
    name: str = ""
    headline: str = ""
    profile_url: str = ""
    value: str = ""  # LIKE, PRAISE... or the comment's text
    is_company: bool = False


class PostChannel(Protocol):
    def publish(self, post: "Post") -> PublishResult: ...

    def engagers(self, post: "Post") -> list[Engager]: ...


def post_channel_for(channel: str) -> PostChannel:
    from outreach.models import SendingAccount

    if channel == SendingAccount.Channel.UNIPILE:
        from presence.unipile import UnipilePosts

        return UnipilePosts()
    if channel == SendingAccount.Channel.SANDBOX:
        from presence.sandbox import SandboxPosts

        return SandboxPosts()
    raise ValueError(f"{channel} accounts cannot publish LinkedIn posts")
