"""Return dates as people write them in replies: "back on Monday", "bis 14. Dezember", "Q2".

Read relative to when the reply was received, in the prospect's timezone, with the day/month
order of the account's locale. dateparser does the reading; the only hand-written table is the
handful of seasonal phrases it does not know ("after the holidays", "Q2", "next quarter").

It lives here rather than in salesdept/llm because two layers use it: the offline template
backend reads with it, and reply handling checks a model's date against it.
"""

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateparser.date import DateDataParser
from dateparser.search import search_dates
from django.conf import settings

# Dates a person types into a form: the app's own way of writing them first, then ISO.
TYPED_FORMATS = ("%d %b %Y", "%d %B %Y", "%a %d %b %Y", "%A %d %B %Y", "%Y-%m-%d")
# Absolute dates only: "tomorrow" would be read against the real clock, not salesdept.clock.
TYPED_PARSER = DateDataParser(
    languages=["en"],
    settings={"DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month", "year"], "PARSERS": ["absolute-time"]},
)
# A snooze further out than this is a misreading, not a plan.
MAX_AHEAD = dt.timedelta(days=366)
LANGUAGES = ["en", "de", "fr", "es"]
# Locales that write the month first (3/1 is 1 March); every other locale we serve writes the day first.
MONTH_FIRST = {"en-US"}

# A clause is searched only when it holds one of these: people name a return date after them.
CUES = re.compile(
    r"\b(?:until|till|til|back|return\w*|after|again|from|next|in|by"
    r"|bis|zurück|wieder|ab|nach|nächste\w*"
    r"|de retour|retour|rentre\w*|jusqu'(?:au|à)|après|à partir d[eu]|dès|prochaine?|dans"
    r"|hasta|de vuelta|vuelta|regres\w*|vuelvo|después|a partir del?|próxim\w+|en)\b",
    re.IGNORECASE,
)
# Clauses end at punctuation; a full stop after a digit is the German ordinal ("14. Dezember").
CLAUSE_END = re.compile(r"[!?;,\n]|(?<!\d)\.")
# Quoted history: our own message's dates must not be read as theirs.
QUOTE_START = re.compile(
    r"^\s*(?:>|-{2,}\s*(?:original|ursprüngliche|message d'origine|mensaje original)"
    r"|.*\b(?:wrote|schrieb|a écrit|escribió)\s*:\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
# What search_dates finds in ordinary words: "now", "a", "in a second", "I may".
NOT_DATES = {"now", "a", "an", "second", "today", "heute", "jetzt", "aujourd'hui", "maintenant", "hoy", "ahora"}
CLOCK_WORDS = re.compile(r"second|minute|hour|sekunde|stunde|seconde|heure|segundo|minuto|hora", re.IGNORECASE)

NEW_YEAR = re.compile(
    r"\b(?:after the holidays|in the new year|after new year|nach den feiertagen|im neuen jahr|nach neujahr"
    r"|après les fêtes|(?:à|au début de) la nouvelle année|en début d'année|après le nouvel an"
    r"|después de las fiestas|en el año nuevo|después de año nuevo|a principios de año)\b",
    re.IGNORECASE,
)
QUARTER = re.compile(r"\bQ([1-4])\b")
NEXT_QUARTER = re.compile(
    r"\b(?:next quarter|nächste[nms]? quartal|(?:le )?trimestre prochain|prochain trimestre"
    r"|(?:el )?próximo trimestre)\b",
    re.IGNORECASE,
)
# Offices reopen after New Year and, in Spain and much of Germany, after Epiphany (6 January).
NEW_YEAR_BACK = (1, 7)


@dataclass(frozen=True)
class DateReading:
    date: dt.date
    phrase: str  # the words it was read from, as written


def zone(*names: str) -> ZoneInfo:
    """The first of `names` that is a real IANA zone, else the project's TIME_ZONE."""
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo(settings.TIME_ZONE)


def date_order(locale: str) -> str:
    return "MDY" if locale in MONTH_FIRST else "DMY"


def local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()


def read_return_date(text: str, *, received_at: dt.datetime, tz: dt.tzinfo, order: str = "DMY") -> DateReading | None:
    """The first future date the reply names, or None when it names none we can trust."""
    text = _unquoted(text)
    received = received_at.astimezone(tz).replace(tzinfo=None)
    found = [*_seasonal(text, received.date()), *_parsed(text, received, order)]
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _unquoted(text: str) -> str:
    quote = QUOTE_START.search(text)
    return text[: quote.start()] if quote else text


def _seasonal(text: str, received_on: dt.date) -> list[tuple[int, DateReading]]:
    found = []
    if match := NEW_YEAR.search(text):
        back = _weekday_on_or_after(dt.date(received_on.year, *NEW_YEAR_BACK))
        if back <= received_on:
            back = _weekday_on_or_after(dt.date(received_on.year + 1, *NEW_YEAR_BACK))
        found.append((match.start(), DateReading(back, match.group(0))))
    if match := QUARTER.search(text):
        month = 3 * int(match.group(1)) - 2
        start = dt.date(received_on.year, month, 1)
        found.append((match.start(), DateReading(_next_year_if_past(start, received_on), match.group(0))))
    if match := NEXT_QUARTER.search(text):
        month = 3 * ((received_on.month - 1) // 3) + 4
        start = dt.date(received_on.year + (month > 12), (month - 1) % 12 + 1, 1)
        found.append((match.start(), DateReading(start, match.group(0))))
    return found


def _parsed(text: str, received: dt.datetime, order: str) -> list[tuple[int, DateReading]]:
    dateparser_settings = {
        "RELATIVE_BASE": received,
        "PREFER_DATES_FROM": "future",
        "PREFER_DAY_OF_MONTH": "first",  # "in March" is the start of March
        "DATE_ORDER": order,
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    start = 0
    for end in [match.start() for match in CLAUSE_END.finditer(text)] + [len(text)]:
        clause, offset, start = text[start:end], start, end + 1
        cues = list(CUES.finditer(clause))
        if not cues:
            continue
        parser = DateDataParser(languages=LANGUAGES, settings=dateparser_settings)
        found = search_dates(clause, languages=LANGUAGES, settings=dateparser_settings) or _around(cues, parser)
        for words, moment in found:
            date = _checked(words, moment.date(), received.date(), parser)
            if date:
                at = clause.find(words)
                return [(offset + at, DateReading(date, _phrase(clause, words, at, cues)))]
    return []


def _around(cues: list[re.Match], parser: DateDataParser) -> list[tuple[str, dt.datetime]]:
    """What search_dates misses in a clause ("la semaine prochaine"): the few words around each cue."""
    clause = cues[0].string
    words = [(match.start(), match.end()) for match in re.finditer(r"\S+", clause)]
    found = []
    for cue in cues:
        at = next(i for i, (start, end) in enumerate(words) if end > cue.start())
        for first in range(max(0, at - 2), at + 1):
            for last in range(min(len(words), at + 3), at, -1):
                span = clause[words[first][0] : words[last - 1][1]]
                if (moment := parser.get_date_data(span).date_obj) is not None:
                    found.append((span, moment))
    return found


def _checked(words: str, date: dt.date, received_on: dt.date, parser: DateDataParser) -> dt.date | None:
    """The candidate's date, moved to its next occurrence; None when it is no return date."""
    bare = words.strip()
    if bare.lower() in NOT_DATES or bare == "may" or CLOCK_WORDS.search(bare):
        return None
    if len(bare) < 3 and not bare.isdigit():  # "me", "mi": Spanish abbreviations of Wednesday
        return None
    if re.search(r"\b\d{4}\b", bare):
        return date if received_on < date <= received_on + MAX_AHEAD else None  # a year given is kept
    if date < received_on:
        date = _next_year_if_past(date, received_on)
    elif date == received_on and not re.search(r"\d", bare):
        date += dt.timedelta(days=7)  # "back on Monday", written on a Monday: the next one
    period = parser.get_date_data(bare).period
    if period == "week":
        # "next week" starts on its Monday, unless that Monday has already come.
        monday = date - dt.timedelta(days=date.weekday())
        date = monday if monday > received_on else date
    return date if received_on < date <= received_on + MAX_AHEAD else None


def _phrase(clause: str, words: str, at: int, cues: list[re.Match]) -> str:
    """The words read, with the cue before them: "back on Monday" rather than "Monday"."""
    before = [cue for cue in cues if cue.end() <= at]
    start = before[-1].start() if before else at
    return " ".join(clause[start : at + len(words)].split())


def _next_year_if_past(date: dt.date, received_on: dt.date) -> dt.date:
    """The first occurrence of the date's day and month after `received_on` (29 February: a leap year's)."""
    year = date.year
    while True:
        try:
            candidate = date.replace(year=year)
        except ValueError:
            candidate = None
        if candidate and candidate > received_on:
            return candidate
        year += 1


def _weekday_on_or_after(date: dt.date) -> dt.date:
    return date + dt.timedelta(days=7 - date.weekday()) if date.weekday() >= 5 else date


@dataclass(frozen=True)
class Snooze:
    """The date a lead sleeps until, and where it came from, in words a rep can check."""

    until: dt.date
    source: str  # "reply" (read from its words), "model" (the model's date) or "default"
    phrase: str = ""
    note: str = ""  # why a model's date was refused, when it was

    @property
    def summary(self) -> str:
        if self.phrase:
            return f"read from “{self.phrase}”"
        if self.source == "model":
            return "the model's reading of the reply"
        return "default: no date found in the reply"


def snooze_settle(
    *,
    text: str,
    proposed: dt.date | None,
    received_at: dt.datetime,
    tz: dt.tzinfo,
    order: str,
    default: dt.timedelta,
) -> Snooze:
    """A model's date if it is plausible, else the date the text names, else `default` after receipt.

    A model that puts a return date before the reply arrived, or more than a year out, has
    misread it; the reply's own words decide then.
    """
    received_on = local_date(received_at, tz)
    reading = read_return_date(text, received_at=received_at, tz=tz, order=order)
    note = ""
    if proposed is not None:
        if proposed < received_on:
            note = f"The model's date {proposed.isoformat()} is before the reply was received; refused."
        elif proposed > received_on + MAX_AHEAD:
            note = f"The model's date {proposed.isoformat()} is more than a year away; refused."
        else:
            agreed = reading.phrase if reading and reading.date == proposed else ""
            return Snooze(until=proposed, source="model", phrase=agreed)
    if reading:
        return Snooze(until=reading.date, source="reply", phrase=reading.phrase, note=note)
    return Snooze(until=received_on + default, source="default", note=note)


def typed_date(text: str) -> dt.date | None:
    """A date a person typed: "5 Nov 2026", "5 November 2026", "2026-11-05" or "5/11/2026" (day first)."""
    text = " ".join(text.replace(",", " ").split())
    if not text:
        return None
    for form in TYPED_FORMATS:
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            pass
    moment = TYPED_PARSER.get_date_data(text).date_obj
    return moment.date() if moment else None


# When a rep means a task to be done: "next Tuesday", "tomorrow", "in 3 days", "on 12 Jan", "3/1".
# Short names only where they are no ordinary word ("sat", "sun" are).
_WEEKDAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri"
_MONTH = r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_MONTH_NAME = rf"(?:{_MONTH})[a-z]*\.?"
_COUNT = r"\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten"
DUE_PHRASE = re.compile(
    r"\b(?:on |by |this |next |from )?"
    r"(?:the day after tomorrow|today|tonight|tomorrow"
    rf"|in (?:{_COUNT}) (?:days?|weeks?|months?)"
    r"|next (?:week|month)"
    rf"|(?:{_WEEKDAY})"
    rf"|(?:the )?\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTH_NAME}(?: \d{{4}})?"
    rf"|{_MONTH_NAME} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^(?:on|by|this|from|the)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class DueReading:
    date: dt.date
    phrase: str  # the words the date was read from; empty when none was named (due today)
    rest: str  # the text without them: what to do


def read_due_date(text: str, *, now: dt.datetime, tz: dt.tzinfo, order: str = "DMY") -> DueReading:
    """When a task written in plain words is due, on the writer's calendar; today when it names no date.

    A date in the past ("on 3 Jan" written in March) is its next occurrence; a weekday named on
    that same weekday is next week's. The phrase is taken out of the text, which is what to do.
    """
    local = now.astimezone(tz).replace(tzinfo=None)
    today = local.date()
    parser = DateDataParser(
        languages=["en"],
        settings={"RELATIVE_BASE": local, "PREFER_DATES_FROM": "future", "DATE_ORDER": order},
    )
    for match in DUE_PHRASE.finditer(text):
        words = _LEAD_IN.sub("", match.group(0)).strip()
        moment = parser.get_date_data(words).date_obj
        if moment is None:
            continue
        date = moment.date()
        if date < today:
            date = _next_year_if_past(date, today)
        elif date == today and re.fullmatch(_WEEKDAY, words.split()[-1], re.IGNORECASE):
            date += dt.timedelta(days=7)  # "on Tuesday", written on a Tuesday: the next one
        if date > today + MAX_AHEAD:
            continue
        rest = " ".join((text[: match.start()] + " " + text[match.end() :]).split()).strip(" ,;:-")
        return DueReading(date=date, phrase=match.group(0).strip(), rest=rest or text.strip())
    return DueReading(date=today, phrase="", rest=" ".join(text.split()))
