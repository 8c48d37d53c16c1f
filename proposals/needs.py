"""A prospect's needs, read from the conversation by the model (or the offline template), and checked.

Every point quotes the prospect's own words and names the message it quotes. The check is the
report's and the competitor watch's rule (salesdept.llm.grounding): a point is kept only when its
quote is in what the prospect wrote, and every number and name the point states is in its quote.
Anything else is flagged "not in what they wrote" and never reaches a proposal. The template can
only quote: its points are the prospect's own sentences, and a need they did not speak of is "not said".
"""

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from proposals.models import NEED_FIELDS
from salesdept.llm import prompts
from salesdept.llm.gateway import Request, Result, run
from salesdept.llm.grounding import unsupported_facts
from salesdept.llm.schemas import Answer

MAX_POINTS = 15
NOT_IN_THEIR_WORDS = "Not in what they wrote"
FieldName = Literal["pains", "requirements", "budget", "timeline", "decision_makers"]
# Words a summary puts around a quote ("They said their CFO signs off"): not claims of their own.
FRAME_WORDS = {"they", "their", "them", "the", "prospect", "said", "says", "wrote", "writes", "mentioned", "we", "our"}


class NeedPoint(Answer):
    field: FieldName
    text: str = Field(min_length=1, max_length=300)
    quote: str = Field(min_length=1, max_length=600)
    message: str = Field(min_length=1, max_length=10)


class NeedsReading(Answer):
    points: list[NeedPoint] = Field(max_length=MAX_POINTS)


@dataclass(frozen=True)
class Turn:
    """One message of the conversation as the reader sees it: ours ("S1") or the prospect's ("R1")."""

    ref: str
    theirs: bool
    text: str
    at: str
    reply_id: int | None = None

    def as_data(self) -> dict:
        return {"ref": self.ref, "from": "prospect" if self.theirs else "us", "at": self.at, "text": self.text}


# -- The offline template: their own sentences, sorted into needs by plain words ----------------------

# Tried in this order, the most telling first: "our CFO signs off above £20k" is about who decides.
CUES: dict[str, re.Pattern] = {
    "decision_makers": re.compile(r"\b(?:cfo|ceo|coo|cto|vp|director|head of|board|boss)\b|signs? off|"
                                  r"\bdecid|\bapprov|procurement", re.IGNORECASE),
    "budget": re.compile(r"budget|[$€£]\s?\d|\b\d[\d,.]*\s?(?:k|m|gbp|eur|usd|euros?|pounds?|dollars?)\b|spend|afford|"
                         r"\bcost|\bpric", re.IGNORECASE),
    "timeline": re.compile(r"\bby (?:the )?(?:end|mid|start|q[1-4]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|"
                           r"\bq[1-4]\b|deadline|\b(?:weeks?|months?)\b(?!-)|go[- ]live|\blaunch|\bwithin\b|"
                           r"next (?:year|quarter|month)", re.IGNORECASE),
    "pains": re.compile(r"problem|struggl|\bpain|\bslow|manual|\bhard\b|difficult|frustrat|\bissue|too long|"
                        r"\berrors?\b|\bmess\b|spreadsheet|\blose|\blosing|\bcosts? us", re.IGNORECASE),
    "requirements": re.compile(r"\bneeds?\b|\bmust\b|\brequire|\blooking for\b|\bhas to\b|\bhave to\b|\bwant\b|"
                               r"\bintegrat|\bsupport|\bwithout\b", re.IGNORECASE),
}  # fmt: skip
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def template_needs(*, turns: list[Turn]) -> NeedsReading:
    """Each of the prospect's sentences that speaks of a need, as the point and its own quote."""
    points = []
    for turn in turns:
        if not turn.theirs:
            continue
        for sentence in (" ".join(s.split()) for s in SENTENCE.split(turn.text)):
            if len(sentence) < 8 or sentence.startswith(">"):
                continue
            field = next((name for name, cue in CUES.items() if cue.search(sentence)), None)
            if field is not None and len(points) < MAX_POINTS:
                text = sentence if len(sentence) <= 300 else sentence[:299].rsplit(" ", 1)[0] + "…"
                points.append(NeedPoint(field=field, text=text, quote=text.rstrip("…"), message=turn.ref))
    return NeedsReading(points=points)


def read_needs(*, lead: dict, turns: list[Turn], lead_id: int | None = None) -> Result[NeedsReading]:
    """The model's reading of the conversation (the template's when there is no model or it fails)."""
    refs = {turn.ref for turn in turns if turn.theirs}

    def check(answer: NeedsReading) -> None:
        if bad := sorted({point.message for point in answer.points} - refs):
            raise ValueError(f"quote only the prospect's messages ({', '.join(sorted(refs))}), not {', '.join(bad)}")

    rendered = prompts.render(
        "needs_summary",
        {
            "lead_json": prompts.as_data(lead),
            "conversation_json": prompts.as_data([turn.as_data() for turn in turns]),
        },
        override=prompts.override_for("needs_summary"),
    )
    return run(
        Request(
            purpose="needs_summary",
            schema=NeedsReading,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_needs(turns=turns),
            check=check,
            max_tokens=1200,
            lead_id=lead_id,
        )
    )


# -- The check: one rule for the model's points and the rep's own --------------------------------------


def _plain(text: str) -> str:
    """Text as compared: straight quotes and apostrophes, one space, any case."""
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "}))
    return " ".join(text.split()).casefold()


def _quoted_in(quote: str, turns: list[Turn]) -> Turn | None:
    plain = _plain(quote).strip(" \"'.…")
    if not plain:
        return None
    return next((turn for turn in turns if turn.theirs and plain in _plain(turn.text)), None)


def checked_point(*, field: str, text: str, quote: str, ref: str, turns: list[Turn], by: str, known: str) -> dict:
    """One point as stored: the reply it quotes, and why it is flagged ("" when it is in their words).

    The quote is looked for in the message it names, then in any other message of theirs (a model
    may cite the wrong one); never in ours. `known` is the prospect's own name, which a point may use.
    """
    text, quote = " ".join(text.split()), " ".join(quote.split())
    theirs = [turn for turn in turns if turn.theirs]
    cited = [turn for turn in theirs if turn.ref == ref]
    source = _quoted_in(quote, cited) or _quoted_in(quote, theirs)
    flag = ""
    if source is None:
        flag = f"{NOT_IN_THEIR_WORDS}: the quote is not in any of their messages."
    else:
        numbers, names = unsupported_facts(text, quote, known=known, ignore=FRAME_WORDS)
        if numbers:
            flag = f"{NOT_IN_THEIR_WORDS}: {', '.join(numbers)} is not in the quote."
        elif names:
            flag = f"{NOT_IN_THEIR_WORDS}: {', '.join(names)} is not in the quote."
    return {
        "field": field,
        "text": text,
        "quote": quote,
        "reply": source.reply_id if source else None,
        "ref": source.ref if source else ref,
        "at": source.at if source else "",
        "by": by,
        "flag": flag,
    }


def field_label(field: str) -> str:
    return dict(NEED_FIELDS).get(field, field)
