"""The LLM layer: every model call of the product goes through salesdept.llm.

- calls.py: the product's calls (qualify, draft, fact-check, analyse a reply, report insights);
- grounding.py: whether a sentence's numbers are in the data it was given;
- gateway.py: backend choice, daily budget, cache, concurrency and the LLMCall log;
- client.py: HTTP to any OpenAI-compatible server, structured output with one repair;
- prompts.py: versioned prompts, overridable in admin; template.py: the offline backend.
"""

from salesdept.llm.calls import (
    DraftJob,
    QualifyJob,
    analyse_reply,
    draft_and_check_by_wave,
    fact_check_answer,
    propose_campaign,
    qualify_many,
    read_task,
    report_insights,
    summarise_company,
)
from salesdept.llm.gateway import Result
from salesdept.llm.schemas import (
    Brief,
    CampaignProposal,
    Classification,
    CompanySummary,
    Draft,
    FactCheck,
    Insights,
    LeadFacts,
    ReplyAnalysis,
    TaskReading,
    Voice,
)

__all__ = [
    "Brief",
    "CampaignProposal",
    "Classification",
    "CompanySummary",
    "Draft",
    "DraftJob",
    "FactCheck",
    "Insights",
    "QualifyJob",
    "LeadFacts",
    "ReplyAnalysis",
    "Result",
    "TaskReading",
    "Voice",
    "analyse_reply",
    "draft_and_check_by_wave",
    "fact_check_answer",
    "propose_campaign",
    "qualify_many",
    "read_task",
    "report_insights",
    "summarise_company",
]
