"""The opt-out floor: words that stop all contact, read before and whatever the model says.

A model may read "please remove me from your list" as interest; a person asking to be left
alone must never depend on that. Only the prospect's own words count: quoted history (our
message and its unsubscribe footer) is cut off first, and a phrase under a negation ("I'm not
unsubscribing", "no need to remove me") does not count.
"""

import re
from dataclasses import dataclass

from salesdept.dates import QUOTE_START

# Where the prospect's own words end: quoted history, a signature, a forwarded header.
HISTORY_START = re.compile(
    r"^(?:-- ?$|_{5,}|\s*(?:from|von|de|sent|gesendet|envoyé|enviado)\s*:.+@)",
    re.IGNORECASE | re.MULTILINE,
)
# Our email footer, should a client paste it back unquoted.
OUR_FOOTER = re.compile(r"^.*unsubscribe with one click.*$", re.IGNORECASE | re.MULTILINE)

_ME = r"(?:me|us|mich|uns|moi|nous)"
OPT_OUT_PHRASES = (
    # English
    r"unsubscrib\w*",
    r"opt(?:ing)?[ -]?out",
    r"remove\s+(?:me|us|my\s+(?:name|address|details|email))",
    r"take\s+(?:me|us)\s+off",
    r"(?:stop|quit|cease)\s+(?:contacting|messaging|emailing|e-mailing|writing|sending|spamming)",
    r"(?:do\s+not|don'?t|never)\s+(?:contact|email|e-mail|message|write\s+to)\s+(?:me|us)(?:\s+again)?",
    r"no\s+(?:more|further)\s+(?:emails|messages|contact)",
    r"leave\s+(?:me|us)\s+alone",
    r"off\s+your\s+(?:list|mailing)",
    # German
    r"abmelden|abmeldung|austragen",
    rf"entfernen\s+sie\s+{_ME}",
    rf"{_ME}\s+(?:bitte\s+)?(?:aus\s+\w+\s+\w+\s+)?(?:entfernen|austragen|löschen)",
    rf"(?:kontaktieren|schreiben)\s+sie\s+{_ME}\s+(?:bitte\s+)?(?:nicht|nie)",
    r"keine\s+(?:weiteren\s+)?(?:e-?mails|nachrichten|kontaktaufnahme)",
    r"aus\s+(?:ihrem|dem|ihrer|der)\s+(?:verteiler|liste)",
    # French
    r"(?:me\s+)?d[ée]sabonn\w*|d[ée]sinscri\w*",
    r"ne\s+(?:plus\s+)?(?:me|nous)\s+(?:plus\s+)?contacter",
    r"ne\s+(?:me|nous)\s+contactez\s+plus",
    rf"(?:retirez|supprimez|enlevez)[- ]{_ME}",
    # Spanish
    r"(?:dar|d[ée]|darse)(?:me|nos)?\s+de\s+baja",
    r"baja\s+de\s+(?:la|su|tu)\s+lista",
    r"no\s+(?:me|nos)\s+(?:contacten|contactes|contacte|escriban|escribas|escriba)(?:\s+m[áa]s)?",
    r"(?:elim[íi]n|b[óo]rr|s[áa]c)(?:en|a|e)(?:me|nos)",
)
OPT_OUT = re.compile(r"\b(?:" + "|".join(OPT_OUT_PHRASES) + r")\b", re.IGNORECASE)
NOT_INTERESTED = re.compile(
    r"\b(?:not\s+interested|no\s+interest|not\s+for\s+us|no\s+thanks?(?:\s+you)?"
    r"|kein(?:e|en)?\s+interesse|nicht\s+interessiert"
    r"|pas\s+int[ée]ress[ée]e?s?|aucun\s+int[ée]r[êe]t|ne\s+(?:sommes|suis)\s+pas\s+int[ée]ress[ée]e?s?"
    r"|no\s+(?:me|nos)\s+interesa|no\s+estamos\s+interesados|no\s+estoy\s+interesad[oa]|sin\s+inter[ée]s)\b",
    re.IGNORECASE,
)
# A reply that is one word, the way people answer a mailing: "STOP", "Abmelden", "Baja".
ONE_WORD = re.compile(r"^\W*(?:stop|stopp|unsubscribe|abmelden|d[ée]sabonner|arr[êe]t|baja|alto)\W*$", re.IGNORECASE)
SHOUTED_STOP = re.compile(r"(?<![\w'’])STOP(?![\w'’])")
# Words that turn the phrase after them around, within its clause.
NEGATION = re.compile(
    r"\b(?:not|never|no\s+need|don'?t\s+(?:need|want)|didn'?t|won'?t|wouldn'?t|isn'?t|aren'?t|without|why"
    r"|nicht|kein\w*|nie|pas|jamais|sans|nunca|sin)\b",
    re.IGNORECASE,
)
CLAUSE_END = re.compile(r"[.!?;,\n:]")
NEGATION_REACH = 4  # words before a phrase in which a negation counts
# Phrases that carry their own negation: "don't contact me", "no me interesa", "kein Interesse".
NEGATED_PHRASES = ("don", "do not", "never", "no ", "ne ", "not", "kein", "nicht", "sin ", "aucun")


@dataclass(frozen=True)
class Verdict:
    intent: str  # "unsubscribe" or "not_interested"
    phrase: str  # the words it was read from, shown to the rep


def own_words(text: str) -> str:
    """The prospect's part of a reply: no quoted history, signature or our footer."""
    text = OUR_FOOTER.sub("", text)
    cut = min((m.start() for p in (QUOTE_START, HISTORY_START) if (m := p.search(text))), default=len(text))
    return text[:cut]


def _negated(text: str, start: int) -> bool:
    clause = CLAUSE_END.split(text[:start])[-1]
    before = " ".join(clause.split()[-NEGATION_REACH:])
    return bool(NEGATION.search(before))


def _first_unnegated(pattern: re.Pattern, text: str) -> str:
    for match in pattern.finditer(text):
        phrase = match.group(0)
        if phrase.lower().startswith(NEGATED_PHRASES):
            return phrase  # the negation is the phrase itself: "don't contact me", "no me interesa"
        if not _negated(text, match.start()):
            return phrase
    return ""


def read(text: str) -> Verdict | None:
    """Whether a reply asks to stop all contact, or says no; None when it says neither.

    A no that also asks to be removed is an opt-out: the stronger wish wins.
    """
    words = own_words(text)
    if ONE_WORD.match(words):
        return Verdict("unsubscribe", " ".join(words.split()))
    if (shouted := SHOUTED_STOP.search(words)) and not _negated(words, shouted.start()):
        return Verdict("unsubscribe", shouted.group(0))
    if phrase := _first_unnegated(OPT_OUT, words):
        return Verdict("unsubscribe", phrase)
    if phrase := _first_unnegated(NOT_INTERESTED, words):
        return Verdict("not_interested", phrase)
    return None


# Auto-replies: a person is away, not talking. Seen with a real model: an out-of-office read as
# interest got a cheerful answer queued. These phrases make it an out-of-office whatever was read.
AUTO_REPLY = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|out-of-office|automatic\s+reply|auto-?reply|autoreply"
    r"|on\s+(?:annual|parental|maternity|paternity|sick|holiday)\s+leave|limited\s+access\s+to\s+(?:my\s+)?e-?mail"
    r"|abwesenheitsnotiz|automatische\s+antwort|nicht\s+im\s+büro|außer\s+haus"
    r"|absente?\s+du\s+bureau|réponse\s+automatique|message\s+d'absence"
    r"|fuera\s+de\s+la\s+oficina|respuesta\s+automática|mensaje\s+de\s+ausencia)\b",
    re.IGNORECASE,
)


def auto_reply(text: str) -> str:
    """The words that mark a reply as an automatic out-of-office answer; "" when none do."""
    found = AUTO_REPLY.search(own_words(text))
    return found.group(0) if found else ""
