"""The LLM gateway: every model call of the product goes through here (see gateway.py)."""

from salesdept.llm.gateway import analyse_reply, classify_lead, draft_message
from salesdept.llm.schemas import Brief, Classification, Draft, LeadFacts, ReplyAnalysis

__all__ = [
    "Brief",
    "Classification",
    "Draft",
    "LeadFacts",
    "ReplyAnalysis",
    "analyse_reply",
    "classify_lead",
    "draft_message",
]
