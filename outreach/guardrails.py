"""Checks a draft must pass before a human sees it, and again on the text a human approves.

The checks come from what real small models wrote: placeholders in every bracket style, a
preamble before the greeting, the prospect's name as the sign-off, bare domains, markdown and
HTML debris, the wrong language, and the instructions echoed back. A model's text must pass
them all (`for_model=True`); a rep's own edit keeps the matters of style (greeting, preamble,
sign-off, language) as warnings, since a person wrote and read it.

Every message goes through check_message, and every post through check_post: the banned
phrases come from the message's voice (outreach.voice.banned_phrases_for, the one reader of
the team's and the campaign's phrases).
"""

import functools
import re
from urllib.parse import urlsplit

from campaigns.kinds import kind_rules
from outreach.models import OutreachMessage
from outreach.voice import voice_of
from salesdept.db import one_to_one
from salesdept.llm import Voice
from salesdept.people import display_name
from salesdept.teamconfig import llm_config

SUBJECT_LIMIT = 200
PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{0,80}\]"  # [Company Name], [Your Email Address], [date]
    r"|\{+[^{}\n]{0,80}\}+"  # {first_name}, {{company}}
    r"|<[A-Z][A-Z0-9_ ]*>"  # <FIRST_NAME>, <COMPANY>
    r"|%[A-Za-z][A-Za-z0-9_]*%"  # %FIRST_NAME%
)
UNCLOSED = re.compile(r"[\[{][^\]}\n]*$", re.MULTILINE)
LINK = re.compile(r"https?://[^\s)>\]]+", re.IGNORECASE)
EMAIL_ADDRESS = re.compile(r"\b[\w.+-]+@((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)
TLDS = "com|io|ai|co|net|org|de|fr|es|it|nl|be|ch|at|uk|eu|us|app|dev|info|biz|tech|events|example"
BARE_DOMAIN = re.compile(rf"(?<![\w@/.-])((?:www\.)?(?:[a-z0-9-]+\.)+(?:{TLDS}))(?![\w-])", re.IGNORECASE)
_TITLE = r"(?:(?:mr|mrs|ms|dr|herr|frau|monsieur|madame|señor|señora|sr|sra)\.?\s+)?"
GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:tag|morgen)|liebe[r]?"
    rf"|sehr geehrte[r]?|bonjour|salut|cher|chère|hola|estimad[oa]|buenos días|buenas tardes)\s+{_TITLE}([^\s,!.:;]+)",
    re.IGNORECASE,
)
GREETING_LINES = 3  # a greeting may follow a blank line or two, not a paragraph of preamble
PREAMBLE = re.compile(
    r"^\s*(?:here(?:'s| is| are)\b|sure\b|certainly\b|of course\b|absolutely\b|okay\b|ok\b|as an ai\b"
    r"|below is\b|i have (?:written|drafted)\b|draft\b:?|message\b:|body\b:|response\b:)",
    re.IGNORECASE,
)
SUBJECT_LINE = re.compile(r"^\s*(?:subject|betreff|objet|asunto)\s*:", re.IGNORECASE | re.MULTILINE)
CLOSING = re.compile(
    r"^\s*(?:best(?: regards| wishes)?|kind regards|warm regards|regards|thanks|thank you|many thanks|cheers"
    r"|sincerely|all the best|talk soon|viele grüße|beste grüße|mit freundlichen grüßen|liebe grüße|cordialement"
    r"|bien à vous|bien cordialement|salutations|saludos|un saludo|atentamente|un abrazo)\b[\s,.!-]*(.*)$",
    re.IGNORECASE,
)
NAME_LINE = re.compile(r"^[A-ZÀ-Ý][\w'’.-]*(?: [A-ZÀ-Ý][\w'’.-]*){0,3}$")
DEBRIS = re.compile(
    r"</?(?:p|br|div|span|b|i|u|strong|em|a|ul|ol|li|h[1-6]|html|body|table|tr|td)\b[^>]*>"
    r"|\*\*[^*\n]+\*\*|__[^_\n]+__|^#{1,6}\s|```",
    re.IGNORECASE | re.MULTILINE,
)
API_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
ECHO_MARKERS = re.compile(r"</?data>|answer with json|\bsuggested_reply\b|\bfacts_used\b|\bgreeting_name\b", re.I)
ECHO_WORDS = 7  # this many words in a row from our instructions is an echo, not a coincidence
LANGUAGE_MIN_WORDS = 12  # below this the detector guesses; a short note is not judged
LANGUAGE_MIN_CONFIDENCE = 0.6
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch"}
BANNED_PHRASES = ("i hope this email finds you well", "synergy", "game-changer", "game changer", "—")


def finding(code: str, message: str, *, blocking: bool) -> dict:
    """One finding, as every check writes it (guardrail_findings holds a list of them)."""
    return {"code": code, "message": message, "blocking": blocking}


def unsupported_claim(claim: str) -> dict:
    return finding("unsupported_claim", f"Not in the profile or the brief: {claim}", blocking=True)


def not_fact_checked(why: str) -> dict:
    """A model's text whose fact check failed is blocked: unchecked is not the same as checked."""
    return finding(
        "not_fact_checked",
        f"Not fact-checked ({why}): regenerate it, or write it yourself, before it can be approved.",
        blocking=True,
    )


def check_message(
    *,
    message: OutreachMessage,
    subject: str,
    body: str,
    for_model: bool = False,
    as_sent: bool = False,
    by_rep: bool = False,
    voice: Voice | None = None,
    requests: list[str] | None = None,
    links: tuple[str, ...] | list[str] = (),
) -> list[dict]:
    """Every guardrail on a message's text: the draft's checks, then the internal-text check.

    `message` says who the text goes to, from which account, in which campaign (it may be
    unsaved). `for_model`: a model wrote it and nobody has read it yet (see check_draft).
    `as_sent`: the text as it would go, on approval: the links we attached are allowed, and a
    phrase the team or the campaign banned blocks. `by_rep`: a rep's own text, which nobody else
    reads before it goes: as sent, and every banned phrase blocks. `voice` and `requests` are read
    here unless a batch passes them; `links` are links beyond the brief's the writer may use.
    """
    lead, campaign = message.lead, message.campaign
    as_sent = as_sent or by_rep
    voice = voice or voice_of(campaign=campaign, rep=lead.owner)
    findings = check_draft(
        kind=message.kind,
        subject=subject,
        body=body,
        first_name=lead.first_name,
        allowed_links=[*campaign.brief_links, *links, *(attached_links(message) if as_sent else ())],
        banned=voice.banned,
        banned_blocks=as_sent,
        lead_name=lead.full_name,
        sender_name=display_name(lead.owner),
        signature=voice.signature,
        sender_email=message.account.email_address if message.account_id else "",
        language=campaign.language,
        for_model=for_model,
    )
    findings += check_internal_text(text=f"{subject}\n{body}", campaign=campaign, lead=lead, requests=requests)
    if by_rep:
        findings = [{**f, "blocking": True} if f["code"] == "banned_phrase" else f for f in findings]
    return findings


def attached_links(message: OutreachMessage) -> list[str]:
    """Links we attached ourselves, not a writer's: the library item a nurturing touch shares
    (library.Nurture.message) and a proposal's PDF link (proposals.Proposal.message)."""
    if message.pk is None:
        return []
    from library.nurture import nurture_of
    from proposals.links import public_url

    links = []
    if (nurture := nurture_of(message)) is not None and nurture.item is not None:
        links.append(nurture.item.url)
    if (proposal := one_to_one(message, "proposal")) is not None and proposal.link_key:
        links.append(public_url(proposal))
    return links


def check_post(*, text: str, allowed_links: list[str], banned: tuple[str, ...]) -> list[dict]:
    """The checks a public post shares with a message (presence.guardrails adds its own).

    Placeholders, markup, echoed instructions, secrets and links as on a message; a post speaks
    for the company, so every banned phrase blocks, matched as a substring or as whole words.
    """
    findings = _placeholders(text) + _debris(text) + _echo(text) + _links(text, allowed_links, "")
    for phrase in dict.fromkeys([*BANNED_PHRASES, *banned]):
        if phrase.strip() and (phrase.lower() in text.lower() or has_phrase(text, phrase)):
            findings.append(finding("banned_phrase", f"Contains the banned phrase {phrase!r}.", blocking=True))
    return findings


def check_draft(
    *,
    kind: str,
    subject: str,
    body: str,
    first_name: str,
    allowed_links: list[str],
    banned: tuple[str, ...] = (),
    banned_blocks: bool = False,
    lead_name: str = "",
    sender_name: str = "",
    signature: str = "",
    sender_email: str = "",
    language: str = "",
    for_model: bool = False,
) -> list[dict]:
    """Every finding on a draft; a blocking one keeps it from approval.

    `for_model` is True for text a model wrote that no person has read yet: then a missing or
    wrong greeting, a preamble, a wrong sign-off and the wrong language block too. `banned` are
    the phrases the team and the campaign banned: a warning on a fresh draft (the rep can take
    them out), blocking with `banned_blocks` (the text being approved). `signature` is how the
    rep signs: signing with it is signing as the sender.
    """
    findings = _shape(kind, subject, body)
    text = f"{subject}\n{body}"
    findings += _placeholders(text)
    findings += _opening(body, first_name, for_model=for_model)
    findings += _sign_off(body, lead_name or first_name, sender_name, signature, for_model=for_model)
    findings += _links(text, allowed_links, sender_email)
    findings += _debris(text)
    findings += _echo(text)
    findings += _language(body, language, for_model=for_model)
    lowered = text.lower()
    for phrase in BANNED_PHRASES:
        if phrase.lower() in lowered:
            findings.append(finding("banned_phrase", f"Contains the banned phrase {phrase!r}.", blocking=False))
    for phrase in banned:
        if phrase.lower() in lowered and phrase.lower() not in BANNED_PHRASES:
            message = f"Contains {phrase!r}, a phrase your team banned: take it out before approving."
            findings.append(finding("banned_phrase", message, blocking=banned_blocks))
    return findings


def _shape(kind: str, subject: str, body: str) -> list[dict]:
    findings = []
    limit = kind_rules(kind).limit
    if len(body) > limit:
        findings.append(finding("too_long", f"{len(body)} characters; this channel allows {limit}.", blocking=True))
    if not body.strip():
        findings.append(finding("empty", "The message is empty.", blocking=True))
    if kind == "email" and not subject.strip():
        findings.append(finding("no_subject", "An email needs a subject.", blocking=True))
    if kind == "connection_note" and subject.strip():
        findings.append(
            finding("note_subject", "A connection note has no subject: LinkedIn would drop it.", blocking=True)
        )
    if len(subject) > SUBJECT_LIMIT:
        findings.append(finding("subject_too_long", f"The subject has {len(subject)} characters.", blocking=True))
    if SUBJECT_LINE.search(body):
        findings.append(
            finding("subject_in_body", "The message body contains a 'Subject:' line: remove it.", blocking=True)
        )
    return findings


def _placeholders(text: str) -> list[dict]:
    if found := PLACEHOLDER.search(text):
        return [finding("placeholder", f"Unfilled placeholder {found.group(0)!r}.", blocking=True)]
    if found := UNCLOSED.search(text):
        snippet = found.group(0)[:40]
        return [finding("placeholder", f"An unclosed bracket, likely a placeholder: {snippet!r}.", blocking=True)]
    return []


def _opening(body: str, first_name: str, *, for_model: bool) -> list[dict]:
    lines = [line for line in body.splitlines() if line.strip()]
    findings = []
    if lines and PREAMBLE.match(lines[0]) and not GREETING.match(lines[0]):
        findings.append(
            finding("preamble", f"Starts with text meant for us, not the prospect: {lines[0][:60]!r}.", blocking=True)
        )
    at = next((i for i, line in enumerate(lines[:GREETING_LINES]) if GREETING.match(line)), None)
    if at is None:
        message = f"The message does not open by greeting {first_name}."
        return [*findings, finding("no_greeting", message, blocking=for_model)]
    if at and not findings:
        before = " / ".join(lines[:at])[:60]
        findings.append(finding("preamble", f"There is text before the greeting: {before!r}.", blocking=for_model))
    greeted = GREETING.match(lines[at]).group(1)
    if greeted.lower() != first_name.lower():
        findings.append(finding("greeting_name", f"Greets {greeted!r} but the lead is {first_name!r}.", blocking=True))
    return findings


def _signer(body: str) -> str:
    """The name the message is signed with, if it is signed: after a closing, or a name alone at the end."""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    for i in range(len(lines) - 1, max(len(lines) - 4, 0), -1):
        if closing := CLOSING.match(lines[i]):
            rest = closing.group(1).strip(" ,.")
            if rest:
                return rest
            return lines[i + 1] if i + 1 < len(lines) else ""
    if len(lines) > 1 and NAME_LINE.match(lines[-1]) and not GREETING.match(lines[-1]):
        return lines[-1]
    return ""


def sign_off(body: str) -> str:
    """The sign-off block that ends the message as written ("Best,\nAlice Rivera", or a name alone), else "".

    The lines _signer reads the signer from: a closing among the last three lines ("Thanks," alone or
    followed by a name, not "Thanks for the intro."), or a name line at the end.
    """
    lines = body.splitlines(keepends=True)
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for i in reversed(filled[1:][-3:]):
        closing = CLOSING.match(lines[i].strip())
        if closing and (not (rest := closing.group(1).strip(" ,.!")) or NAME_LINE.match(rest)):
            return "".join(lines[i:]).strip()
    last = filled[-1] if len(filled) > 1 else None
    if last is not None and NAME_LINE.match(lines[last].strip()) and not GREETING.match(lines[last].strip()):
        return lines[last].strip()
    return ""


def _words(name: str) -> set[str]:
    return {word.lower().strip(".,") for word in name.split() if len(word) > 1}


def _sign_off(body: str, lead_name: str, sender_name: str, signature: str, *, for_model: bool) -> list[dict]:
    signer = _signer(body)
    if not signer or not sender_name or "@" in sender_name:
        return []
    if _words(signer) & (_words(sender_name) | _words(signature)):
        return []
    if _words(signer) & _words(lead_name):
        message = f"Signed {signer!r}, the prospect's own name: it must be signed by {sender_name}."
        return [finding("sign_off", message, blocking=True)]
    if NAME_LINE.match(signer):
        message = f"Signed {signer!r}, but the sender is {sender_name}."
        return [finding("sign_off", message, blocking=for_model)]
    return []


def _host(link: str) -> str:
    host = urlsplit(link if "//" in link else f"//{link}").hostname or ""
    return host.lower().removeprefix("www.")


def _links(text: str, allowed_links: list[str], sender_email: str) -> list[dict]:
    allowed = {link.rstrip("/").lower() for link in allowed_links}
    hosts = {_host(link) for link in allowed_links} | {sender_email.rpartition("@")[2].lower()} - {""}
    findings = []
    for link in LINK.findall(text):
        if link.rstrip("/.,").lower() not in allowed:
            findings.append(finding("unknown_link", f"{link} is not in the campaign brief.", blocking=True))
    without_urls = LINK.sub(" ", text)
    for address in EMAIL_ADDRESS.finditer(without_urls):
        if address.group(1).lower() not in hosts:
            message = f"The email address {address.group(0)} is not the sender's nor in the campaign brief."
            findings.append(finding("unknown_link", message, blocking=True))
    for domain in BARE_DOMAIN.findall(EMAIL_ADDRESS.sub(" ", without_urls)):
        if _host(domain) not in hosts:
            message = f"{domain} reads as a link and is not in the campaign brief."
            findings.append(finding("unknown_link", message, blocking=True))
    return findings


def _debris(text: str) -> list[dict]:
    if found := DEBRIS.search(text):
        message = f"Formatting the prospect would see as raw text: {found.group(0).strip()!r}. Write plain text."
        return [finding("markup", message, blocking=True)]
    return []


@functools.cache
def _instruction_shingles() -> frozenset[tuple[str, ...]]:
    """Runs of words from our prompts' fixed text: a message that repeats one is echoing them."""
    from salesdept.llm.prompts import DATA_RULE, PROMPTS

    texts = [DATA_RULE, *(p.system for p in PROMPTS.values()), *(p.instructions for p in PROMPTS.values())]
    shingles = set()
    for text in texts:
        for part in re.split(r"\{[{%].*?[%}]\}|<data>|</data>", text):
            words = _plain_words(part)
            shingles.update(tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1))
    return frozenset(shingles)


def _plain_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _echo(text: str) -> list[dict]:
    key = llm_config().api_key
    if API_KEY.search(text) or (key and len(key) >= 8 and key in text):
        return [finding("secret", "The message contains an API key: it must never be sent.", blocking=True)]
    if ECHO_MARKERS.search(text):
        return [finding("echo", "The message repeats our instructions to the model.", blocking=True)]
    words = _plain_words(text)
    shingles = _instruction_shingles()
    for i in range(len(words) - ECHO_WORDS + 1):
        if tuple(words[i : i + ECHO_WORDS]) in shingles:
            quoted = " ".join(words[i : i + ECHO_WORDS])
            message = f"The message repeats our instructions to the model ({quoted!r}…)."
            return [finding("echo", message, blocking=True)]
    return []


@functools.cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(_iso(code)) for code in LANGUAGE_NAMES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _iso(code: str):
    from lingua import IsoCode639_1

    return IsoCode639_1.from_str(code)


def _language(body: str, language: str, *, for_model: bool) -> list[dict]:
    """Whether a long enough text is in the campaign's language (lingua; its models ship in its wheel)."""
    if not language or language not in LANGUAGE_NAMES or len(_plain_words(body)) < LANGUAGE_MIN_WORDS:
        return []
    best = _detector().compute_language_confidence_values(body)[0]
    found = best.language.iso_code_639_1.name.lower()
    if found == language or best.value < LANGUAGE_MIN_CONFIDENCE:
        return []
    message = f"Written in {LANGUAGE_NAMES.get(found, found)}, but the campaign is in {LANGUAGE_NAMES[language]}."
    return [finding("language", message, blocking=for_model)]


# Internal text ----------------------------------------------------------------------------------
# A campaign's name, its targeting, the request it came from and its notes are for the team. A
# model that echoes its prompt, or a rep pasting from the campaign page, could put them in front
# of a prospect; a draft or answer that repeats them is blocked. Text the campaign also gives in a
# prospect-facing field (offer, event, FAQ, ...) was put there on purpose, and passes.

OVERLAP_WORDS = 6  # a run of this many words shared with the request or the notes is a copy, not chance
WORD = re.compile(r"[\w'£$€%-]+")


def _word_list(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def has_phrase(text: str, phrase: str) -> bool:
    """Whether `phrase` (or its plural) is in `text` as whole words, ignoring case and spacing."""
    words = _word_list(phrase)
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
    source_words = _word_list(source)
    if len(source_words) < OVERLAP_WORDS:  # a short note is a copy only when repeated whole
        if len(source_words) >= 3 and has_phrase(text, source) and not has_phrase(allowed, source):
            return source.strip()
        return ""
    shared = _ngrams(_word_list(text), OVERLAP_WORDS) & _ngrams(source_words, OVERLAP_WORDS)
    shared -= _ngrams(_word_list(allowed), OVERLAP_WORDS)
    if not shared:
        return ""
    return " ".join(next(gram for gram in _ngrams_in_order(source_words) if gram in shared))


def copied_text(text: str, source: str) -> str:
    """The first run of words `text` copies from `source` (all of a short one); "" when none."""
    return _copied(text, source, allowed="")


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
    if has_phrase(text, campaign.name) and not has_phrase(allowed, campaign.name):
        message = f"Contains the campaign's internal name {campaign.name!r}; prospects never see it."
        findings.append(finding("internal_name", message, blocking=True))
    for request_text in requests:
        if copied := _copied(text, request_text, allowed=allowed):
            message = f"Repeats the rep's campaign request ({copied!r}); write what prospects may read instead."
            findings.append(finding("internal_request", message, blocking=True))
    if copied := _copied(text, campaign.internal_notes, allowed=allowed):
        findings.append(
            finding("internal_notes", f"Repeats the campaign's internal notes ({copied!r}).", blocking=True)
        )
    target = campaign.target
    if target.linkedin_search_url and target.linkedin_search_url.casefold() in text.casefold():
        findings.append(finding("internal_targeting", "Contains the campaign's LinkedIn search.", blocking=True))
    own = f"{allowed}\n{_lead_text(lead)}"
    listed = [term for term in _targeting_terms(target) if has_phrase(text, term) and not has_phrase(own, term)]
    if len(listed) >= 2:  # one word may be chance; several together read like the search itself
        message = f"Reads like the campaign's targeting ({', '.join(listed[:4])}), not like a note to this person."
        findings.append(finding("internal_targeting", message, blocking=True))
    return findings
