"""Checks a draft must pass before a human sees it, and again on the text a human approves."""

import re

LIMITS = {"connection_note": 300, "message": 8000, "inmail": 1900, "email": 10000}
SUBJECT_LIMIT = 200
PLACEHOLDER = re.compile(r"\{\{?[^}]*\}\}?|\[(?:first ?name|name|company|your name)\]|<[A-Z_ ]+>", re.IGNORECASE)
LINK = re.compile(r"https?://[^\s)>\]]+", re.IGNORECASE)
GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon))\s+([^\s,!.]+)", re.IGNORECASE)
BANNED_PHRASES = ("i hope this email finds you well", "synergy", "game-changer", "game changer", "—")


def _finding(code: str, message: str, *, blocking: bool) -> dict:
    return {"code": code, "message": message, "blocking": blocking}


def check_draft(
    *, kind: str, subject: str, body: str, first_name: str, allowed_links: list[str], banned: tuple[str, ...] = ()
) -> list[dict]:
    findings = []
    limit = LIMITS.get(kind, 8000)
    if len(body) > limit:
        findings.append(_finding("too_long", f"{len(body)} characters; this channel allows {limit}.", blocking=True))
    if not body.strip():
        findings.append(_finding("empty", "The message is empty.", blocking=True))
    if kind == "email" and not subject.strip():
        findings.append(_finding("no_subject", "An email needs a subject.", blocking=True))
    if len(subject) > SUBJECT_LIMIT:
        findings.append(_finding("subject_too_long", f"The subject has {len(subject)} characters.", blocking=True))
    if placeholders := PLACEHOLDER.findall(f"{subject}\n{body}"):
        findings.append(_finding("placeholder", f"Unfilled placeholder {placeholders[0]!r}.", blocking=True))
    greeting = GREETING.match(body)
    if not greeting:
        findings.append(_finding("no_greeting", f"The message does not open with {first_name}'s name.", blocking=False))
    elif greeting.group(1).lower() != first_name.lower():
        findings.append(
            _finding("greeting_name", f"Greets {greeting.group(1)!r} but the lead is {first_name!r}.", blocking=True)
        )
    allowed = {link.rstrip("/").lower() for link in allowed_links}
    for link in LINK.findall(body):
        if link.rstrip("/.,").lower() not in allowed:
            findings.append(_finding("unknown_link", f"{link} is not in the campaign brief.", blocking=True))
    lowered = f"{subject}\n{body}".lower()
    for phrase in (*BANNED_PHRASES, *banned):
        if phrase.lower() in lowered:
            findings.append(_finding("banned_phrase", f"Contains the banned phrase {phrase!r}.", blocking=False))
    return findings


# Internal text ----------------------------------------------------------------------------------
# A campaign's name, its targeting, the request it came from and its notes are for the team. A
# model that echoes its prompt, or a rep pasting from the campaign page, could put them in front
# of a prospect; a draft or answer that repeats them is blocked. Text the campaign also gives in a
# prospect-facing field (offer, event, FAQ, ...) was put there on purpose, and passes.

OVERLAP_WORDS = 6  # a run of this many words shared with the request or the notes is a copy, not chance
WORD = re.compile(r"[\w'£$€%-]+")


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _has_phrase(text: str, phrase: str) -> bool:
    """Whether `phrase` (or its plural) is in `text` as whole words, ignoring case and spacing."""
    words = _words(phrase)
    if not words:
        return False
    pattern = r"\b" + r"\W+".join(re.escape(word) for word in words) + r"s?\b"
    return re.search(pattern, text.casefold()) is not None


def _prospect_facing(campaign) -> str:
    parts = [campaign.offer, campaign.event, campaign.proof, campaign.call_to_action, *campaign.value_points]
    parts += [f"{item.get('question', '')} {item.get('answer', '')}" for item in campaign.faq]
    parts += [label.get("angle", "") for label in campaign.labels]
    return "\n".join(parts)


def _copied(text: str, source: str, *, allowed: str) -> str:
    """The first run of words `text` copies from `source` that `allowed` does not hold; "" when none."""
    source_words = _words(source)
    if len(source_words) < OVERLAP_WORDS:  # a short note is a copy only when repeated whole
        if len(source_words) >= 3 and _has_phrase(text, source) and not _has_phrase(allowed, source):
            return source.strip()
        return ""
    shared = _ngrams(_words(text), OVERLAP_WORDS) & _ngrams(source_words, OVERLAP_WORDS)
    shared -= _ngrams(_words(allowed), OVERLAP_WORDS)
    if not shared:
        return ""
    return " ".join(next(gram for gram in _ngrams_in_order(source_words) if gram in shared))


def _ngrams_in_order(words: list[str]):
    return (tuple(words[i : i + OVERLAP_WORDS]) for i in range(len(words) - OVERLAP_WORDS + 1))


def _targeting_terms(target) -> list[str]:
    fields = ("titles", "industries", "locations", "keywords", "exclusions")
    return list(dict.fromkeys(term for name in fields for term in getattr(target, name) if term.strip()))


def _lead_text(lead) -> str:
    if lead is None:
        return ""
    company = lead.company
    parts = [lead.position, lead.headline, lead.location, lead.first_name, lead.last_name]
    if company is not None:
        parts += [company.name, company.industry, company.summary]
    return "\n".join(part or "" for part in parts)


def check_internal_text(*, text: str, campaign, lead=None, requests: list[str] | None = None) -> list[dict]:
    """Findings for internal campaign text in a draft or answer (`text`: its subject and body).

    `lead` is who it is written to: a job title or city that is theirs is about them, not a
    copy of the campaign's targeting. `requests` are the texts the campaign was asked for with
    (read here when not given; a batch reads them once).
    """
    from campaigns.selectors import campaign_request_texts

    if requests is None:
        requests = campaign_request_texts(campaign_ids=[campaign.pk])[campaign.pk]
    findings = []
    allowed = _prospect_facing(campaign)
    if _has_phrase(text, campaign.name) and not _has_phrase(allowed, campaign.name):
        message = f"Contains the campaign's internal name {campaign.name!r}; prospects never see it."
        findings.append(_finding("internal_name", message, blocking=True))
    for request_text in requests:
        if copied := _copied(text, request_text, allowed=allowed):
            message = f"Repeats the rep's campaign request ({copied!r}); write what prospects may read instead."
            findings.append(_finding("internal_request", message, blocking=True))
    if copied := _copied(text, campaign.internal_notes, allowed=allowed):
        findings.append(
            _finding("internal_notes", f"Repeats the campaign's internal notes ({copied!r}).", blocking=True)
        )
    target = campaign.target
    if target.linkedin_search_url and target.linkedin_search_url.casefold() in text.casefold():
        findings.append(_finding("internal_targeting", "Contains the campaign's LinkedIn search.", blocking=True))
    own = f"{allowed}\n{_lead_text(lead)}"
    listed = [term for term in _targeting_terms(target) if _has_phrase(text, term) and not _has_phrase(own, term)]
    if len(listed) >= 2:  # one word may be chance; several together read like the search itself
        message = f"Reads like the campaign's targeting ({', '.join(listed[:4])}), not like a note to this person."
        findings.append(_finding("internal_targeting", message, blocking=True))
    return findings
