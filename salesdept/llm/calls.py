"""The product's model calls: qualify, draft, fact-check, analyse a reply, read a campaign request,
summarise a company's website, find what matters in a day's numbers.

Each builds a gateway Request (prompt, schema, extra checks, template fallback) from plain
data; the gateway decides who answers and logs the call.
"""

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from campaigns.kinds import kind_rules
from campaigns.labels import label_names
from salesdept.dates import MAX_AHEAD
from salesdept.llm import prompts
from salesdept.llm import template as template_backend
from salesdept.llm.gateway import Request, Result, run, run_chains_by_wave, run_many
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
    classification_for,
)
from salesdept.models import PromptOverride


@dataclass(frozen=True)
class QualifyJob:
    lead: LeadFacts
    brief: Brief
    target: dict
    lead_id: int | None = None
    campaign_id: int | None = None


def _qualify_request(job: QualifyJob, override: PromptOverride | None) -> Request[Classification]:
    names = label_names(job.brief.labels)
    rendered = prompts.render(
        "qualify",
        {
            "campaign_json": prompts.as_data(
                {"labels": job.brief.labels, "offer": job.brief.offer, "event": job.brief.event}
            ),
            "target_json": prompts.as_data(job.target),
            "lead_json": prompts.as_data(job.lead.as_dict()),
            "label_names": ", ".join(names),
        },
        override=override,
    )
    return Request(
        purpose="qualify",
        schema=classification_for(tuple(dict.fromkeys(names))),
        messages=rendered.messages,
        prompt_version=rendered.version,
        fallback=lambda: template_backend.classify(lead=job.lead, brief=job.brief),
        max_tokens=300,
        lead_id=job.lead_id,
        campaign_id=job.campaign_id,
    )


def qualify_many(jobs: Sequence[QualifyJob]) -> list[Result[Classification]]:
    override = prompts.override_for("qualify")
    return run_many([_qualify_request(job, override) for job in jobs])


@dataclass(frozen=True)
class DraftJob:
    lead: LeadFacts
    brief: Brief
    kind: str
    step: int
    limit: int
    instruction: str = ""
    examples: list[dict] = field(default_factory=list)  # [{"draft": ..., "approved": ...}]
    lead_id: int | None = None
    campaign_id: int | None = None
    fresh: bool = False  # a regenerate: the rep wants a new text, not the cached one
    voice: Voice | None = None  # None: the team's voice (the admin's draft prompt override) alone


def _team_voice(override: PromptOverride | None) -> Voice:
    if override is None:
        return Voice()
    return Voice(override.brand_voice, tuple(override.banned_phrases), override.signature)


def _draft_request(job: DraftJob, override: PromptOverride | None) -> Request[Draft]:
    needs_subject = kind_rules(job.kind).needs_subject

    def check(answer: Draft) -> None:
        if len(answer.body) > job.limit:
            raise ValueError(f"the body has {len(answer.body)} characters; at most {job.limit} are allowed")
        if needs_subject and not answer.subject.strip():
            raise ValueError("a subject is required")

    voice = job.voice or _team_voice(override)
    signature = voice.signature or job.brief.sender_name
    rendered = prompts.render(
        "draft",
        {
            "kind_label": kind_rules(job.kind).prompt_label,
            "limit": job.limit,
            "needs_subject": needs_subject,
            "step": job.step,
            "tone": job.brief.tone,
            "brand_voice": voice.brand_voice,
            "signature": signature,
            "banned": "; ".join(voice.banned),
            "instruction": job.instruction,
            "instruction_json": prompts.as_data(job.instruction),
            "brief_json": prompts.as_data(job.brief.for_message()),
            "lead_json": prompts.as_data(job.lead.as_dict()),
            "examples": job.examples,
            "examples_json": prompts.as_data(job.examples),
        },
        override=override,
    )
    return Request(
        purpose="draft",
        schema=Draft,
        messages=rendered.messages,
        prompt_version=rendered.version,
        fallback=lambda: template_backend.draft(
            lead=job.lead,
            brief=dataclasses.replace(job.brief, sender_name=signature),  # the template signs as sender_name
            kind=job.kind,
            step=job.step,
            instruction=job.instruction,
            seed=job.lead_id or 0,
        ),
        check=check,
        max_tokens=900,
        lead_id=job.lead_id,
        campaign_id=job.campaign_id,
        use_cache=not job.fresh,
    )


def _fact_check_request(job: DraftJob, draft: Draft, override: PromptOverride | None) -> Request[FactCheck]:
    rendered = prompts.render(
        "fact_check",
        {
            "lead_json": prompts.as_data(job.lead.as_dict()),
            "brief_json": prompts.as_data(job.brief.for_message()),
            "message_json": prompts.as_data({"subject": draft.subject, "body": draft.body}),
        },
        override=override,
    )
    return Request(
        purpose="fact_check",
        schema=FactCheck,
        messages=rendered.messages,
        prompt_version=rendered.version,
        fallback=lambda: FactCheck(unsupported_claims=[]),
        max_tokens=400,
        lead_id=job.lead_id,
        campaign_id=job.campaign_id,
    )


# A wave of drafting answers: a job's index, and its draft and fact check (None: not started in time).
DraftWave = list[tuple[int, tuple[Result[Draft], Result[FactCheck] | None] | None]]


def draft_and_check_by_wave(jobs: Sequence[DraftJob], *, start_by: float | None = None) -> Iterator[DraftWave]:
    """Each draft, and for a model draft its fact check (the second pass) as soon as it is back,
    yielded a wave at a time as they end: a job's index and its answer (run_chains_by_wave).

    The template invents nothing, so its drafts get no fact check. A job not started by `start_by`
    is answered None.
    """
    draft_override, check_override = prompts.override_for("draft"), prompts.override_for("fact_check")
    return run_chains_by_wave(
        [_draft_request(job, draft_override) for job in jobs],
        then=lambda i, draft: _fact_check_request(jobs[i], draft, check_override),
        start_by=start_by,
    )


def fact_check_answer(
    *, lead: LeadFacts, brief: Brief, body: str, lead_id: int | None = None, campaign_id: int | None = None
) -> Result[FactCheck]:
    """The drafts' second pass, on a model's suggested answer to a reply: claims nothing supports."""
    job = DraftJob(lead=lead, brief=brief, kind="message", step=1, limit=0, lead_id=lead_id, campaign_id=campaign_id)
    answer = Draft(greeting_name="", subject="", body=body, facts_used=[])
    return run(_fact_check_request(job, answer, prompts.override_for("fact_check")))


def analyse_reply(
    *,
    text: str,
    received_at: dt.datetime,
    tz: dt.tzinfo,
    date_order: str = "DMY",
    lead: LeadFacts | None = None,
    brief: Brief | None = None,
    our_message: str = "",
    lead_id: int | None = None,
    campaign_id: int | None = None,
) -> Result[ReplyAnalysis]:
    """Read a reply and suggest an answer; the lead, brief and our message give the answer its facts.

    Dates in the reply are relative to when it was received, in the prospect's zone `tz`;
    `date_order` ("DMY" or "MDY") says how its writer puts a date like 3/1.
    """
    received_on = received_at.astimezone(tz).date()
    rendered = prompts.render(
        "analyse_reply",
        {
            "reply_json": prompts.as_data(text),
            "message_json": prompts.as_data(our_message) if our_message else "",
            "lead_json": prompts.as_data(_reply_lead(lead)) if lead else "",
            "brief_json": prompts.as_data(brief.for_message()) if brief else "",
            "today": f"{received_on:%A} {received_on.isoformat()}",
            "date_order": "month first (3/1 is 1 March)" if date_order == "MDY" else "day first (3/1 is 3 January)",
        },
        override=prompts.override_for("analyse_reply"),
    )
    return run(
        Request(
            purpose="analyse_reply",
            schema=ReplyAnalysis,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_backend.analyse(
                text=text,
                received_at=received_at,
                tz=tz,
                date_order=date_order,
                first_name=lead.first_name if lead else "",
                brief=brief,
            ),
            max_tokens=900,
            lead_id=lead_id,
            campaign_id=campaign_id,
        )
    )


def _reply_lead(lead: LeadFacts) -> dict:
    """What an answer to a reply needs to know about the person: who they are, not their posts."""
    return {key: value for key, value in lead.as_dict().items() if key != "recent_posts"}


def propose_campaign(*, text: str) -> Result[CampaignProposal]:
    """A rep's request in plain words, read as a campaign proposal for a manager."""
    numbers = {int(n) for n in re.findall(r"\b\d{1,4}\b", text)}

    def check(answer: CampaignProposal) -> None:
        if not (answer.titles or answer.keywords or answer.industries):
            raise ValueError("give at least one title, keyword or industry to search for")
        if numbers and answer.size not in numbers:
            raise ValueError(f"size must be the number the request asks for ({sorted(numbers)}), not {answer.size}")
        names = [label.name.strip().lower() for label in answer.labels]
        if len(set(names)) != len(names):
            raise ValueError("label names must be different")

    rendered = prompts.render(
        "propose_campaign", {"request_json": prompts.as_data(text)}, override=prompts.override_for("propose_campaign")
    )
    return run(
        Request(
            purpose="propose_campaign",
            schema=CampaignProposal,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_backend.propose_campaign(text=text),
            check=check,
            max_tokens=900,
        )
    )


def summarise_company(*, name: str, url: str, page_text: str) -> Result[CompanySummary]:
    """What a company's front page says it does, for a personal first line. The page is data."""
    rendered = prompts.render(
        "summarise_company",
        {"company_json": prompts.as_data({"name": name, "website": url}), "page_json": prompts.as_data(page_text)},
        override=prompts.override_for("summarise_company"),
    )
    return run(
        Request(
            purpose="summarise_company",
            schema=CompanySummary,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_backend.summarise_company(name=name, page_text=page_text),
            max_tokens=500,
        )
    )


def report_insights(*, metrics: dict) -> Result[Insights]:
    """3 to 5 sentences on a day's numbers for the daily report. The numbers are data.

    Whether each sentence's numbers are in `metrics` is checked by the caller
    (grounding.ungrounded_numbers), which drops the ones that are not.
    """

    def check(answer: Insights) -> None:
        texts = [" ".join(text.lower().split()) for text in answer.insights]
        if len(set(texts)) != len(texts):
            raise ValueError("each insight must say something different")

    rendered = prompts.render(
        "insights", {"metrics_json": prompts.as_data(metrics)}, override=prompts.override_for("insights")
    )
    return run(
        Request(
            purpose="insights",
            schema=Insights,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_backend.insights(metrics=metrics),
            check=check,
            max_tokens=700,
        )
    )


def read_task(
    *,
    text: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    date_order: str = "DMY",
    lead: LeadFacts,
    lead_id: int | None = None,
    campaign_id: int | None = None,
) -> Result[TaskReading]:
    """A rep's task in plain words, read as its due date on the rep's calendar (`tz`) and an instruction.

    A date before today or more than a year out is a misreading: the model is asked once to
    repair it, then the offline reader decides.
    """
    today = now.astimezone(tz).date()

    def check(answer: TaskReading) -> None:
        if answer.due_on is not None and not today <= answer.due_on <= today + MAX_AHEAD:
            raise ValueError(f"due_on {answer.due_on.isoformat()} must be between {today} and a year from it")

    rendered = prompts.render(
        "read_task",
        {
            "text_json": prompts.as_data(text),
            "lead_json": prompts.as_data(_reply_lead(lead)),
            "today": f"{today:%A} {today.isoformat()}",
            "date_order": "month first (3/1 is 1 March)" if date_order == "MDY" else "day first (3/1 is 3 January)",
        },
        override=prompts.override_for("read_task"),
    )
    return run(
        Request(
            purpose="read_task",
            schema=TaskReading,
            messages=rendered.messages,
            prompt_version=rendered.version,
            fallback=lambda: template_backend.read_task(text=text, now=now, tz=tz, date_order=date_order),
            check=check,
            max_tokens=300,
            lead_id=lead_id,
            campaign_id=campaign_id,
        )
    )
