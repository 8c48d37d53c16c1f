"""What goes into and comes out of the LLM layer. Every answer is a validated pydantic model."""

import datetime as dt
import functools
from dataclasses import asdict, dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


@dataclass(frozen=True)
class LeadFacts:
    """Prospect data handed to a backend. It is data, never instructions."""

    first_name: str
    last_name: str
    position: str
    company: str
    industry: str
    location: str
    headline: str
    recent_posts: list[str] = field(default_factory=list)
    company_summary: str = ""  # what the company's website says it does (leads.enrichment)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Brief:
    """What a campaign lets a message say: only fields written to be read by a prospect.

    The campaign's name, its targeting, the request it came from and its internal notes are
    never here, so no prompt or template can put them in front of a prospect. `labels` steer
    qualification; `label` and `angle` are this prospect's label and what a message to them
    leads with (campaign_brief sets them per lead).
    """

    labels: list[dict]
    offer: str
    event: str
    call_to_action: str
    tone: str
    links: list[str]
    sender_name: str
    value_points: list[str] = field(default_factory=list)
    proof: str = ""
    faq: list[dict] = field(default_factory=list)  # [{"question": ..., "answer": ...}]
    label: str = ""
    angle: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def for_message(self) -> dict:
        """What a message may draw on: the brief without the qualification labels."""
        return {key: value for key, value in self.as_dict().items() if key not in ("labels", "label")}


@dataclass(frozen=True)
class Voice:
    """How a message sounds and signs off: the team's, a campaign's and a rep's own settings, merged
    (outreach.voice). They are instructions to the writer from the team, not prospect data."""

    brand_voice: str = ""
    banned: tuple[str, ...] = ()
    signature: str = ""


class Answer(BaseModel):
    # Strict JSON schemas want every field required and nothing extra.
    model_config = ConfigDict(extra="forbid")


class Classification(Answer):
    label: str
    confidence: float = Field(ge=0, le=1)
    insight: str = Field(min_length=1, max_length=300)


@functools.cache
def classification_for(labels: tuple[str, ...]) -> type[Classification]:
    """Classification whose label must be one of a campaign's: an enum in the schema the model gets.

    Checked after the fact, a small model invented labels 20 times out of 20; as an enum, a server
    with structured output cannot produce another, and any other answer fails validation.
    """
    if not labels:
        return Classification
    return create_model("Classification", __base__=Classification, label=(Literal[labels], ...))


class Draft(Answer):
    greeting_name: str
    subject: str
    body: str = Field(min_length=1)
    facts_used: list[str]


class FactCheck(Answer):
    unsupported_claims: list[str]


Intent = Literal[
    "interested", "requesting_info", "not_interested", "not_now", "referral", "out_of_office", "unsubscribe", "unclear"
]


class ReplyAnalysis(Answer):
    sentiment: Literal["positive", "neutral", "negative"]
    intent: Intent
    key_facts: list[str]
    confidence: float = Field(ge=0, le=1)
    snooze_until: dt.date | None
    referral_name: str
    # An answer for the rep to review; empty when none is warranted (opt-out, out of office, a no).
    suggested_reply: str = Field(max_length=2000)


Seniority = Literal["owner", "c_suite", "vp", "director", "manager", "individual"]


class ProposedLabel(Answer):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(max_length=200)


class CampaignProposal(Answer):
    """A rep's request in plain words, read as a campaign a manager can edit and approve."""

    name: str = Field(min_length=1, max_length=120)
    titles: list[str]
    seniorities: list[Seniority]
    industries: list[str]
    locations: list[str]
    company_sizes: list[str]  # ranges like "51-200"
    keywords: list[str]
    exclusions: list[str]
    labels: list[ProposedLabel] = Field(min_length=1, max_length=6)
    angle: str = Field(min_length=1, max_length=500)  # what the outreach leads with
    size: int = Field(ge=1, le=5000)  # how many leads the rep asked for
    questions: list[str]  # what the request leaves open, for the manager to settle


class CompanySummary(Answer):
    """What a company's website says it does: material for a personal first line."""

    summary: str = Field(max_length=600)
    facts: list[str] = Field(max_length=6)


class TaskReading(Answer):
    """A rep's task on a lead, in plain words, read as a date and what the message should do."""

    due_on: dt.date | None  # null: today
    instruction: str = Field(min_length=1, max_length=300)  # for the drafting model, in the rep's voice


InsightText = Annotated[str, Field(min_length=1, max_length=240)]


class Insights(Answer):
    """What a manager should notice in a day's numbers: 3 to 5 short sentences, each grounded in them."""

    insights: list[InsightText] = Field(min_length=3, max_length=5)


@functools.cache
def strict_json_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema in the strict form OpenAI's structured output accepts (do not mutate)."""

    def tighten(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for key in ("title", "default"):
                node.pop(key, None)
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for value in node:
                tighten(value)
        return node

    return tighten(model.model_json_schema())
