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
