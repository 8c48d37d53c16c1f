"""Checks a LinkedIn post must pass before a person sees it, and again on the text they approve.

A post is public and speaks for the company or a rep, so what is a warning on a message blocks
here: banned phrases, any link but the library item's own URL, a number no library fact states,
a claim the model says it made that is not a library fact, a prospect's name. The shared checks
(placeholders, markup, echoed instructions, links, banned phrases) are outreach.guardrails.check_post.
"""

import re

from library.models import ContentItem
from outreach.guardrails import check_post, finding, has_phrase
from salesdept.llm.grounding import NUMBER, ungrounded_numbers

# LinkedIn's limit for a post's text.
POST_LIMIT = 3000


def library_facts(item: ContentItem | None) -> list[str]:
    return [str(fact) for fact in (item.facts if item else []) if str(fact).strip()]


def fact_key(text: str) -> str:
    """A fact as compared with a claim: its words, case and punctuation aside."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def post_findings(
    *,
    text: str,
    item: ContentItem | None,
    banned: tuple[str, ...] = (),
    facts_used: list[str] | None = None,
    names: tuple[str, ...] = (),
) -> list[dict]:
    """Every finding on a post's text; a blocking one keeps it from approval."""
    findings = []
    if not text.strip():
        findings.append(finding("empty", "The post has no text.", blocking=True))
    if len(text) > POST_LIMIT:
        findings.append(
            finding("too_long", f"{len(text)} characters: LinkedIn takes at most {POST_LIMIT}.", blocking=True)
        )
    for found in check_post(text=text, allowed_links=[item.url] if item else [], banned=banned):
        if found["code"] == "unknown_link":  # a post's one allowed link is its library item's
            found = {**found, "message": found["message"].replace("campaign brief", "library item")}
        findings.append(found)
    facts = library_facts(item)
    source = numbers_of([*facts, item.summary if item else "", item.title if item else ""])
    for number in ungrounded_numbers(text, source):
        findings.append(finding("unsupported_claim", f"{number} is not in the library item's facts.", blocking=True))
    known = {fact_key(fact) for fact in facts}
    for claim in facts_used or []:
        if fact_key(claim) not in known:
            findings.append(finding("unsupported_claim", f"Not a fact of the library item: {claim}", blocking=True))
    for name in names:
        if name.strip() and has_phrase(text, name):
            findings.append(finding("names_a_prospect", f"Names {name}: posts never quote a prospect.", blocking=True))
    return findings


def numbers_of(texts: list[str]) -> dict:
    """The numbers the library states, as values grounding compares a post's numbers with."""
    values = []
    for text in texts:
        for match in NUMBER.finditer(text):
            digits = match.group(0).lstrip("+-\u2212$€£").rstrip("%").replace(",", "")
            values.append(float(digits))
    return {"values": values}
