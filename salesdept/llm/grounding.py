"""Is a sentence grounded in the numbers it was given? Every number it quotes must be one of them.

Used on the daily report's insights: a model that invents "replies up 40%" must not reach a
manager's inbox. A quoted number is grounded when some value in the metrics, rounded (half up) to as many
decimals as the quote shows, equals it: "12%" quotes 12.3, "$0.4" quotes 0.37, "13%" quotes neither.
Numbers inside a date the metrics name ("March 14", "2026-03-14") or inside a name they carry
(a campaign called "Fintech 2026") are not quotes of a value and are left out. Numbers written
as words ("three", "doubled") are not checked.

`unsupported_facts` is the same rule against a text rather than a table: the numbers and names a
sentence states must be in the text it cites (a competitor's posts, a prospect's own quoted words).
"""

import datetime as dt
import re
from collections.abc import Collection, Iterator

from salesdept.llm.template import MONTHS as MONTH_NUMBERS

# 1,234 or 1234 or 12.5, with an optional sign, currency and percent ("24h" counts; "Q3", "v2" do not).
NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?[$€£]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?(?!\d)")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTHS = list(MONTH_NUMBERS)  # "january" … "december", in order
SKIP_KEYS = {"id"}  # database ids are not facts about the day
WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]+")


def ungrounded_numbers(text: str, metrics: dict) -> list[str]:
    """The numbers `text` quotes that no value in `metrics` supports, as written."""
    values = [abs(v) for v in _values(metrics)]
    text = _without_names_and_dates(text, metrics)
    missing = []
    for match in NUMBER.finditer(text):
        literal = match.group(0)
        digits = literal.lstrip("+-\u2212$€£").rstrip("%").replace(",", "")
        quoted = float(digits)
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        within = 0.5 * 10**-decimals + 1e-9  # what rounding to the quote's decimals may move a value
        if not any(abs(value - quoted) <= within for value in values):
            missing.append(literal)
    return missing


def _walk(node, key: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _walk(value, str(name))
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _walk(value, key)
    else:
        yield key, node


def _values(metrics: dict) -> list[float]:
    return [
        float(value)
        for key, value in _walk(metrics)
        if isinstance(value, int | float) and not isinstance(value, bool) and key not in SKIP_KEYS
    ]


def _without_names_and_dates(text: str, metrics: dict) -> str:
    strings = {value for _, value in _walk(metrics) if isinstance(value, str) and any(c.isdigit() for c in value)}
    for value in sorted(strings, key=len, reverse=True):  # longest first: a name may contain a shorter one
        if ISO_DATE.match(value):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = None
            if day is not None:
                for pattern in _date_patterns(day):
                    text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
                continue
        text = re.sub(re.escape(value), " ", text, flags=re.IGNORECASE)
    return text


def _date_patterns(day: dt.date) -> list[str]:
    """The ways a sentence may write `day`: ISO, "March 14(th)(, 2026)", "14 March 2026", "3/14(/2026)"."""
    month = MONTHS[day.month - 1]
    month_re = rf"(?:{month}|{month[:3]}\.?)"
    day_re = rf"0?{day.day}(?:st|nd|rd|th)?"
    year_re = rf"(?:,?\s+{day.year})?"
    return [
        rf"\b{day.isoformat()}\b",
        rf"\b{month_re}\s+{day_re}{year_re}\b",
        rf"\b{day_re}\s+(?:of\s+)?{month_re}{year_re}\b",
        rf"(?<![\d/]){day.month}/{day.day}(?:/{day.year})?(?![\d/])",
        rf"(?<![\d/]){day.day}/{day.month}(?:/{day.year})?(?![\d/])",
    ]


def stem(word: str) -> str:
    """A crude stem: "launching" and "launches" meet at "launch"."""
    return word.lower().strip("'’-")[:6]


def unsupported_facts(
    text: str, source: str, *, known: str = "", ignore: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """The numbers and the names `text` states that `source` does not hold, as written: (numbers, names).

    A number is held when `source` quotes it (as `ungrounded_numbers` reads a quote); a name is a
    capitalised word after the first, held when its stem is among the source's words. `known` names
    (the competitor, the prospect) and `ignore` words (lower case: the frame a summary puts around a
    quote) are never unsupported.
    """
    values = [float(m.group(0).lstrip("+-\u2212$€£").rstrip("%").replace(",", "")) for m in NUMBER.finditer(source)]
    numbers = ungrounded_numbers(text, {"values": values})
    source_words = {stem(word) for word in WORD.findall(source)}
    known_words = {stem(word) for word in WORD.findall(known)}
    names = [
        word
        for i, word in enumerate(WORD.findall(text))
        if i and word[0].isupper() and stem(word) not in known_words and word.lower() not in ignore
    ]
    return numbers, [name for name in names if stem(name) not in source_words]
