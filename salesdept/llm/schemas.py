"""What goes into and comes out of the LLM layer. Outputs are validated pydantic models."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field


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


@dataclass(frozen=True)
class Brief:
    campaign: str
    labels: list[dict]
    offer: str
    event: str
    call_to_action: str
    tone: str
    links: list[str]
    sender_name: str


class Classification(BaseModel):
    label: str
    confidence: float = Field(ge=0, le=1)
    insight: str = Field(max_length=300)


class Draft(BaseModel):
    greeting_name: str
    subject: str = ""
    body: str = Field(min_length=1)


Intent = Literal[
    "interested", "requesting_info", "not_interested", "not_now", "referral", "out_of_office", "unsubscribe", "unclear"
]


class ReplyAnalysis(BaseModel):
    sentiment: Literal["positive", "neutral", "negative"]
    intent: Intent
    key_facts: list[str] = []
    confidence: float = Field(ge=0, le=1)
    snooze_until: dt.date | None = None
    referral_name: str = ""
