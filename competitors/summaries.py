"""A competitor's week, summarised by the model (or the offline template) and kept only where grounded.

Every point cites the posts it comes from, and is shown only when those posts hold what it says:
its names and numbers appear in them, and most of its words do. Anything else is flagged, stored
apart and never shown as a fact (a model that invents "they raised $20M" must not reach a manager).
"""

import re
from typing import Literal

from pydantic import Field

from salesdept.llm import prompts
from salesdept.llm.gateway import Request, Result, run
from salesdept.llm.grounding import WORD, stem, unsupported_facts
from salesdept.llm.schemas import Answer

MAX_POINTS = 6
MIN_WORDS_FOUND = 0.6  # a paraphrase may change a few words; most must be the posts' own
LAUNCH_WORDS = ("launch", "introducing", "new:", "now available", "now connects", "release")
EVENT_WORDS = ("webinar", "event", "join us", "join our", "meet ", "conference", "summit", "stand ")
# Words a summary adds around what the posts say: not claims about the competitor.
FRAME_WORDS = {
    "about", "across", "also", "announced", "announces", "their", "they", "this", "that", "these", "those",
    "week", "with", "from", "into", "post", "posts", "posted", "promoted", "promotes", "pushed", "pushes",
    "highlighted", "highlights", "shared", "shares", "invited", "invites", "launched", "launches", "said",
    "says", "talked", "talks", "claims", "claimed", "which", "where", "when", "will", "have", "has", "were",
    "been", "being", "them", "theme", "themes", "event", "events", "launch", "company", "competitor", "again",
}  # fmt: skip


class CompetitorPoint(Answer):
    kind: Literal["theme", "launch", "event"]
    text: str = Field(min_length=1, max_length=240)
    posts: list[str] = Field(min_length=1, max_length=5)


class CompetitorWeek(Answer):
    points: list[CompetitorPoint] = Field(max_length=MAX_POINTS)


def point_kind(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in LAUNCH_WORDS):
        return "launch"
    if any(word in lowered for word in EVENT_WORDS):
        return "event"
    return "theme"


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s+", flat)[0]
    if len(sentence) <= 240:
        return sentence
    return sentence[:239].rsplit(" ", 1)[0] + "…"


def template_week(*, posts: list[dict]) -> CompetitorWeek:
    """The newest posts' first sentences, as written: a summary that cannot claim what the posts do not."""
    points = [
        CompetitorPoint(kind=point_kind(post["text"]), text=_first_sentence(post["text"]), posts=[post["ref"]])
        for post in posts
        if post["text"].strip()
    ]
    return CompetitorWeek(points=points[:MAX_POINTS])


def summarise_week(*, competitor: str, posts: list[dict]) -> Result[CompetitorWeek]:
    """posts: [{"ref": "P1", "text", "date"}], newest first. Their text is data, never instructions."""
    refs = {post["ref"] for post in posts}

    def check(answer: CompetitorWeek) -> None:
        if any(ref not in refs for point in answer.points for ref in point.posts):
            raise ValueError(f"cite only these posts: {', '.join(sorted(refs))}")

    rendered = prompts.render(
        "competitor_week",
        {"competitor_json": prompts.as_data({"name": competitor}), "posts_json": prompts.as_data(posts)},
        override=prompts.override_for("competitor_week"),
    )
    return run(
        Request(
            purpose="competitor_week",
            schema=CompetitorWeek,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_week(posts=posts),
            check=check,
            max_tokens=900,
        )
    )


# -- Grounding ----------------------------------------------------------------------------------------


def ungrounded(text: str, cited: list[str], *, competitor: str) -> str:
    """Why `text` is not supported by the `cited` posts' text, or "" when it is."""
    if not cited:
        return "cites no post we read"
    source = " ".join(cited)
    numbers, names = unsupported_facts(text, source, known=competitor, ignore=FRAME_WORDS)
    if numbers:
        return f"numbers not in the posts it cites: {', '.join(numbers)}"
    if names:
        return f"names not in the posts it cites: {', '.join(names)}"
    source_words = {stem(word) for word in WORD.findall(source)}
    known_names = {stem(word) for word in WORD.findall(competitor)}
    words = [word for word in WORD.findall(text) if len(word) > 3]
    content = [word for word in words if word.lower() not in FRAME_WORDS and stem(word) not in known_names]
    if content:
        found = sum(1 for word in content if stem(word) in source_words)
        if found / len(content) < MIN_WORDS_FOUND:
            return "says what the posts it cites do not"
    return ""


def grounded_points(answer: CompetitorWeek, *, posts: list[dict], competitor: str) -> tuple[list[dict], list[dict]]:
    """(points shown, points flagged). A shown point carries its posts' pks; a flagged one why it was held back."""
    by_ref = {post["ref"]: post for post in posts}
    shown, flagged = [], []
    for point in answer.points:
        cited = [by_ref[ref] for ref in dict.fromkeys(point.posts) if ref in by_ref]
        text = " ".join(point.text.split())
        reason = ungrounded(text, [post["text"] for post in cited], competitor=competitor)
        row = {"kind": point.kind, "text": text, "posts": [post["pk"] for post in cited]}
        if reason:
            flagged.append({**row, "reason": reason})
        else:
            shown.append(row)
    return shown, flagged
