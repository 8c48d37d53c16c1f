"""Simulated publishing and engagement for the demo: deterministic by the seed and the post's key.

Publishing appends a line to the sandbox outbox (as message sends do). Once a published post is
SANDBOX_REPLY_DELAY_SECONDS old, a few sandbox people (leads.sources.sandbox.person) have reacted
and one or two have commented; which ones is a pure function of the seed and the post.
"""

import datetime as dt
import hashlib
import json
import os
import random

from django.conf import settings

from leads.sources.sandbox import person
from outreach.channels.base import ChannelError, SendOutcomeUnknown
from presence.channels import Engager, PublishResult
from presence.models import Post
from salesdept import clock

REACTIONS = ["LIKE", "LIKE", "LIKE", "PRAISE", "INTEREST", "APPRECIATION"]
COMMENTS = [
    "Useful read, thanks for sharing.",
    "We hit exactly this last quarter. How long did the rollout take?",
    "Interesting angle. Would love to compare notes.",
]
PEOPLE = 5000  # the sandbox network engagers are drawn from


def _rng(post: Post) -> random.Random:
    seed = hashlib.sha256(f"{settings.SANDBOX_SEED}:{post.idempotency_key}".encode()).hexdigest()
    return random.Random(seed)


class SandboxPosts:
    def publish(self, post: Post) -> PublishResult:
        # A post whose text says so fails the way a real one could: for tests and the demo's "Needs checking".
        for error in ChannelError:
            if f"#inject{error.value.replace('_', '')}" in post.text:
                return PublishResult(error=error, detail=f"sandbox: injected {error.value}")
        if "#injectunknown" in post.text:
            raise SendOutcomeUnknown("sandbox: injected timeout after the post left")
        line = json.dumps(
            {"key": str(post.idempotency_key), "account": post.account_id, "kind": "post", "body": post.text}
        )
        path = settings.SANDBOX_OUTBOX
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # one write: lines never interleave
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return PublishResult(provider_post_id=f"sandbox-post-{post.idempotency_key}")

    def engagers(self, post: Post) -> list[Engager]:
        delay = dt.timedelta(seconds=settings.SANDBOX_REPLY_DELAY_SECONDS)
        if post.published_at is None or clock.now() < post.published_at + delay:
            return []
        rng = _rng(post)
        indexes = rng.sample(range(PEOPLE), rng.randint(3, 6))
        engagers = []
        for n, index in enumerate(indexes):
            someone = person(settings.SANDBOX_SEED, index)
            commented = n < 2 and rng.random() < 0.6
            engagers.append(
                Engager(
                    kind="comment" if commented else "reaction",
                    provider_id=someone.provider_id,
                    name=f"{someone.first_name} {someone.last_name}",
                    headline=someone.headline,
                    profile_url=someone.linkedin_url,
                    value=rng.choice(COMMENTS) if commented else rng.choice(REACTIONS),
                )
            )
        return engagers

    def profile(self, post: Post, provider_id: str) -> Engager | None:
        return None  # sandbox engagers come with their names
