"""Writes on campaigns: creating and editing them, status changes, starting their pipeline."""

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F

from campaigns.labels import label_errors, labels_clean
from campaigns.models import PROSPECT_FACING_FIELDS, Campaign, SequenceStep, TargetProfile
from campaigns.selectors import step_message_counts
from leads.services import activity_record


class CampaignStateError(Exception):
    pass


@transaction.atomic
def campaign_set_status(*, campaign: Campaign, status: str, actor) -> Campaign:
    allowed = {
        Campaign.Status.ACTIVE: (Campaign.Status.DRAFT, Campaign.Status.PAUSED),
        Campaign.Status.PAUSED: (Campaign.Status.ACTIVE,),
        Campaign.Status.FINISHED: (Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.DRAFT),
    }
    if status not in allowed:
        raise CampaignStateError(f"{status!r} is not a status a campaign can be moved to.")
    if not Campaign.objects.filter(pk=campaign.pk, status__in=allowed[status]).update(status=status):
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(f"The campaign is {campaign.get_status_display().lower()}; it cannot become {status}.")
    previous, campaign.status = campaign.status, status
    activity_record(verb=f"campaign.{status}", campaign=campaign, actor=actor, previous=previous)
    if previous == Campaign.Status.DRAFT and status == Campaign.Status.ACTIVE:
        campaign_start_pipeline(campaign=campaign, actor=actor)  # "Start" starts: not the next daily run
    return campaign


def campaign_start_pipeline(*, campaign: Campaign, actor=None) -> None:
    """Find → qualify → allocate (→ draft), as a chain of tasks started once this commits."""
    from celery import chain

    from campaigns.tasks import campaign_allocate_task
    from leads.tasks import leads_find_task, leads_qualify_task

    if campaign.status != Campaign.Status.ACTIVE:
        raise CampaignStateError("Only an active campaign can look for leads.")
    activity_record(verb="campaign.search_started", campaign=campaign, actor=actor)
    pipeline = chain(leads_find_task.si(campaign.pk), leads_qualify_task.s(), campaign_allocate_task.si(campaign.pk))
    transaction.on_commit(pipeline.delay)


# Creating and editing ------------------------------------------------------------------------

TARGET_LIST_FIELDS = ("titles", "seniorities", "industries", "locations", "company_sizes", "keywords", "exclusions")
TARGET_FIELDS = (*TARGET_LIST_FIELDS, "linkedin_api", "linkedin_search_url")
MIN_SCORE_RANGE = range(0, 101)
QUOTA_RANGE = range(1, 501)
MAX_STEPS = 10
MAX_DELAY_DAYS = 90
VOICE_FIELDS = ("brand_voice", "banned_phrases")  # instructions to the writer: not prospect-facing, not data
BRAND_VOICE_MAX = 1000
BANNED_PHRASES_MAX = 50
BANNED_PHRASE_MAX = 100
SIZE_RANGE = re.compile(r"^(\d+)-(\d+)$")
_http_url = URLValidator(schemes=["http", "https"])


def _errors_of(instance, *, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def _faq_errors(faq: list[dict]) -> list[str]:
    unanswered = [item["question"] for item in faq if not item["answer"]]
    if unanswered:
        return [f"Give an answer to {unanswered[0]!r}, or leave the question out."]
    if any(not item["question"] for item in faq):
        return ["Every answer needs its question: write the question, then the answer."]
    return []


def _voice_errors(campaign: Campaign) -> dict[str, list[str]]:
    """The voice's limits, and an offer that carries the internal notes: prospects read the offer."""
    from outreach.guardrails import copied_text

    errors = {}
    if len(campaign.brand_voice) > BRAND_VOICE_MAX:
        errors["brand_voice"] = [f"The brand voice is at most {BRAND_VOICE_MAX} characters."]
    phrases = campaign.banned_phrases
    if len(phrases) > BANNED_PHRASES_MAX:
        errors["banned_phrases"] = [f"At most {BANNED_PHRASES_MAX} banned phrases."]
    elif long := [phrase for phrase in phrases if len(phrase) > BANNED_PHRASE_MAX]:
        errors["banned_phrases"] = [f"A banned phrase is at most {BANNED_PHRASE_MAX} characters: {long[0][:20]!r}…"]
    if copied := copied_text(campaign.offer, campaign.internal_notes):
        errors["offer"] = [
            f"The offer repeats the internal notes ({copied!r}). Prospects read the offer: "
            "write it for them, and keep team notes under Internal."
        ]
    return errors


def _step_errors(steps: list[dict]) -> list[str]:
    if not steps:
        return ["Add at least one step: the first message the campaign sends."]
    if len(steps) > MAX_STEPS:
        return [f"A sequence has at most {MAX_STEPS} steps."]
    errors = []
    for number, step in enumerate(steps, start=1):
        if step.get("kind") not in SequenceStep.Kind.values:
            errors.append(f"Step {number}: choose what kind of message it sends.")
        delay = step.get("delay_days")
        if not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_DAYS:
            errors.append(f"Step {number}: the delay is a whole number of days from 0 to {MAX_DELAY_DAYS}.")
        if len(step.get("instruction") or "") > 300:
            errors.append(f"Step {number}: the instruction is at most 300 characters.")
    if steps[0].get("delay_days") not in (0, None):
        errors.append("Step 1 goes out as soon as a lead is allocated: its delay must be 0 days.")
    return errors


def _validate(
    *,
    campaign: Campaign,
    target: TargetProfile,
    labels: list[dict],
    lead_sources: list[str],
    brief_links: list[str],
    steps: list[dict],
    account_ids: list[int],
    step_errors: list[str] = (),
) -> None:
    """Every rule a campaign's fields must meet, in one ValidationError keyed by argument name."""
    from leads.sources.registry import SEARCH_SOURCES
    from outreach.models import SendingAccount

    errors: dict[str, list[str]] = {}
    errors.update(_errors_of(target, exclude=["name"]))
    errors.update(
        _errors_of(
            campaign, exclude=["owner", "target", "labels", "lead_sources", "brief_links", "value_points", "faq"]
        )
    )
    if not campaign.name:
        errors["name"] = ["Give the campaign a name."]
    if getattr(campaign, "lead_goal", None) is not None and campaign.lead_goal < 1:
        errors["lead_goal"] = ["The lead goal is at least 1 lead."]
    if campaign.min_score not in MIN_SCORE_RANGE:
        errors["min_score"] = ["The minimum score is a whole number from 0 to 100."]
    if campaign.daily_lead_quota not in QUOTA_RANGE:
        errors["daily_lead_quota"] = [f"The daily quota is from {QUOTA_RANGE[0]} to {QUOTA_RANGE[-1]} new leads."]
    if campaign.lead_goal is not None and campaign.lead_goal < 1:
        errors["lead_goal"] = ["The lead goal is at least 1, or blank for no limit."]
    if wrong_labels := label_errors(labels):
        errors["labels"] = wrong_labels
    if faq_errors := _faq_errors(getattr(campaign, "faq", [])):
        errors["faq"] = faq_errors
    errors.update(_voice_errors(campaign))
    if unknown := [name for name in lead_sources if name not in SEARCH_SOURCES]:
        errors["lead_sources"] = [
            f"Unknown lead source: {', '.join(unknown)}. Choose from {', '.join(SEARCH_SOURCES)}."
        ]
    if target.linkedin_search_url and "linkedin_search_url" not in errors:
        host = urlsplit(target.linkedin_search_url).hostname or ""
        if host != "linkedin.com" and not host.endswith(".linkedin.com"):
            errors["linkedin_search_url"] = ["Paste a search from linkedin.com (People search or Sales Navigator)."]
    bad_sizes = [size for size in target.company_sizes if not _is_size_range(size)]
    if bad_sizes:
        errors["company_sizes"] = [f"Company sizes are employee ranges like 51-200: {bad_sizes[0]!r} is not one."]
    for link in brief_links:
        try:
            _http_url(link)
        except ValidationError:
            errors.setdefault("brief_links", []).append(
                f"{link!r} is not a web address: each line must start with http:// or https://."
            )
    if step_errors := [*_step_errors(steps), *step_errors]:
        errors["steps"] = step_errors
    allowed = SendingAccount.objects.filter(is_active=True)
    if campaign.pk:  # an account already on the campaign may stay there while it is switched off
        allowed = allowed | SendingAccount.objects.filter(campaigns=campaign)
    if set(account_ids) - set(allowed.values_list("pk", flat=True)):
        errors["account_ids"] = ["Choose active sending accounts: one of those chosen is switched off or gone."]
    if errors:
        raise ValidationError(errors)


def _is_size_range(size: str) -> bool:
    found = SIZE_RANGE.match(size)
    return bool(found) and int(found[1]) <= int(found[2])


def _clean_list(values: Iterable[str]) -> list[str]:
    """Stripped, without blanks or repeats, in the order given."""
    return list(dict.fromkeys(value.strip() for value in values if value and value.strip()))


def _clean_faq(faq: list[dict]) -> list[dict]:
    items = [
        {"question": (item.get("question") or "").strip(), "answer": (item.get("answer") or "").strip()} for item in faq
    ]
    return [item for item in items if item["question"] or item["answer"]]


def _clean_steps(steps: list[dict]) -> list[dict]:
    return [
        {
            "id": step.get("id"),
            "kind": step.get("kind"),
            "delay_days": step.get("delay_days", 0),
            "instruction": (step.get("instruction") or "").strip(),
        }
        for step in steps
    ]


def _target_for(target: dict, *, name: str, into: TargetProfile | None = None) -> TargetProfile:
    if unknown := set(target) - {*TARGET_FIELDS, "name"}:
        raise ValidationError(f"Unknown target profile fields: {', '.join(sorted(unknown))}.")
    profile = into or TargetProfile(name=name)
    for field in TARGET_LIST_FIELDS:
        if field in target:
            setattr(profile, field, _clean_list(target[field]))
    if "linkedin_api" in target:
        profile.linkedin_api = target["linkedin_api"] or "classic"
    if "linkedin_search_url" in target:
        profile.linkedin_search_url = (target["linkedin_search_url"] or "").strip()
    profile.name = (target.get("name") or profile.name or name)[:200]
    return profile


def _default_tone() -> str:
    return Campaign._meta.get_field("tone").default


@transaction.atomic
def campaign_create(
    *,
    actor,
    name: str,
    target: dict,
    labels: list[dict],
    min_score: int,
    daily_lead_quota: int,
    lead_sources: list[str],
    offer: str = "",
    event: str = "",
    value_points: list[str] = (),
    proof: str = "",
    call_to_action: str = "",
    faq: list[dict] = (),
    tone: str = "",
    brief_links: list[str] = (),
    internal_notes: str = "",
    brand_voice: str = "",
    banned_phrases: list[str] = (),
    steps: list[dict],
    account_ids: list[int] = (),
    status: str = Campaign.Status.DRAFT,
    owner=None,
    lead_goal: int | None = None,
) -> Campaign:
    """A campaign with its own target profile, sequence and accounts; owned by `owner` (else `actor`).

    `lead_goal` (campaign requests set it) stops the search once the campaign has that many leads.
    Raises ValidationError (keyed by argument name) and stores nothing when any field is wrong.
    """
    name = name.strip()
    campaign = Campaign(
        name=name,
        owner=owner or actor,
        status=status,
        labels=labels_clean(labels),
        min_score=min_score,
        daily_lead_quota=daily_lead_quota,
        lead_sources=_clean_list(lead_sources),
        offer=offer.strip(),
        event=event.strip(),
        value_points=_clean_list(value_points),
        proof=proof.strip(),
        call_to_action=call_to_action.strip(),
        faq=_clean_faq(faq),
        tone=tone.strip() or _default_tone(),
        brief_links=_clean_list(brief_links),
        internal_notes=internal_notes.strip(),
        brand_voice=brand_voice.strip(),
        banned_phrases=_clean_list(banned_phrases),
    )
    if lead_goal is not None:
        campaign.lead_goal = lead_goal
    profile = _target_for(target, name=name)
    steps, account_ids = _clean_steps(steps), list(account_ids)
    _validate(
        campaign=campaign,
        target=profile,
        labels=campaign.labels,
        lead_sources=campaign.lead_sources,
        brief_links=campaign.brief_links,
        steps=steps,
        account_ids=account_ids,
    )
    profile.save()
    campaign.target = profile
    campaign.save()
    SequenceStep.objects.bulk_create(
        SequenceStep(
            campaign=campaign,
            order=order,
            kind=step["kind"],
            delay_days=step["delay_days"],
            instruction=step["instruction"],
        )
        for order, step in enumerate(steps, start=1)
    )
    campaign.sending_accounts.set(account_ids)
    activity_record(verb="campaign.created", campaign=campaign, actor=actor, status=campaign.status)
    return campaign


CAMPAIGN_FIELDS = (
    "name",
    "labels",
    "min_score",
    "daily_lead_quota",
    "lead_goal",
    "lead_sources",
    *PROSPECT_FACING_FIELDS,
    "internal_notes",
    *VOICE_FIELDS,
)


def _plan_steps(campaign: Campaign, steps: list[dict]) -> tuple[list[tuple[SequenceStep, dict]], list[SequenceStep]]:
    """Pair each wanted step with the stored step it edits (a new one when none), and list the dropped.

    Steps are matched by id; when the caller gives no ids at all, by position.
    """
    current = list(campaign.steps.order_by("order"))
    by_id = {step.pk: step for step in current}
    if any(step.get("id") for step in steps):
        ids = [step["id"] for step in steps if step.get("id")]
        if len(ids) != len(set(ids)):
            raise ValidationError({"steps": ["The same step is listed twice."]})
        if unknown := [step["id"] for step in steps if step.get("id") and step["id"] not in by_id]:
            raise ValidationError({"steps": [f"Step {unknown[0]} is not a step of this campaign."]})
        kept = [by_id.get(step.get("id")) or SequenceStep(campaign=campaign) for step in steps]
    else:
        kept = [current[i] if i < len(current) else SequenceStep(campaign=campaign) for i in range(len(steps))]
    kept_ids = {step.pk for step in kept if step.pk}
    return list(zip(kept, steps, strict=True)), [step for step in current if step.pk not in kept_ids]


def _step_message_errors(pairs, dropped: list[SequenceStep], counts: dict[int, int]) -> list[str]:
    errors = []
    for step in dropped:
        if counts.get(step.order):
            errors.append(
                f"Step {step.order} ({step.get_kind_display()}) cannot be deleted: {counts[step.order]} "
                "message(s) were drafted for it. Change its text or delay instead."
            )
    for order, (step, _) in enumerate(pairs, start=1):
        if step.pk and step.order != order and counts.get(step.order):
            errors.append(
                f"Step {step.order} ({step.get_kind_display()}) has messages, so it must keep its number: "
                f"it would become step {order}."
            )
    return errors


def _save_steps(campaign: Campaign, pairs, dropped: list[SequenceStep]) -> None:
    SequenceStep.objects.filter(pk__in=[step.pk for step in dropped]).delete()
    # Out of the way first: orders are unique per campaign, and steps may swap numbers.
    moving = [step.pk for order, (step, _) in enumerate(pairs, start=1) if step.pk and step.order != order]
    SequenceStep.objects.filter(pk__in=moving).update(order=F("order") + 1000)
    for order, (step, wanted) in enumerate(pairs, start=1):
        step.order, step.kind = order, wanted["kind"]
        step.delay_days, step.instruction = wanted["delay_days"], wanted["instruction"]
        if step.pk:
            step.save(update_fields=["order", "kind", "delay_days", "instruction"])
        else:
            step.save()


def _step_rows(steps) -> list[tuple]:
    return [(step.kind, step.delay_days, step.instruction) for step in steps]


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor, **fields) -> Campaign:
    """Change any of campaign_create's fields (except status); what is not given stays as it is.

    Steps carry their id to be edited in place; a step that has messages can neither be deleted
    nor change its number, so drafts and follow-ups already under way keep their step.
    Raises ValidationError and changes nothing when any field is wrong.
    """
    allowed = {*CAMPAIGN_FIELDS, "target", "steps", "account_ids"}
    if unknown := set(fields) - allowed:
        raise TypeError(f"campaign_update() got unexpected fields: {', '.join(sorted(unknown))}")
    campaign = Campaign.objects.select_for_update().select_related("target").get(pk=campaign.pk)
    before = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
    target_before = {name: getattr(campaign.target, name) for name in TARGET_FIELDS}
    steps_before = _step_rows(campaign.steps.order_by("order"))
    accounts_before = set(campaign.sending_accounts.values_list("pk", flat=True))

    for name in CAMPAIGN_FIELDS:
        if name in fields:
            setattr(campaign, name, fields[name])
    campaign.name = campaign.name.strip()
    campaign.labels = labels_clean(campaign.labels)
    campaign.lead_sources = _clean_list(campaign.lead_sources)
    campaign.brief_links = _clean_list(campaign.brief_links)
    campaign.value_points = _clean_list(campaign.value_points)
    campaign.faq = _clean_faq(campaign.faq)
    campaign.banned_phrases = _clean_list(campaign.banned_phrases)
    for name in ("offer", "event", "proof", "call_to_action", "internal_notes", "brand_voice"):
        setattr(campaign, name, getattr(campaign, name).strip())
    campaign.tone = campaign.tone.strip() or _default_tone()

    profile = TargetProfile.objects.get(pk=campaign.target_id)
    _target_for(fields.get("target", {}), name=campaign.name, into=profile)
    steps = _clean_steps(fields["steps"]) if "steps" in fields else None
    if steps is None:
        steps = [
            {"id": s.pk, **dict(zip(("kind", "delay_days", "instruction"), row, strict=True))}
            for s, row in zip(campaign.steps.order_by("order"), steps_before, strict=True)
        ]
    account_ids = list(fields.get("account_ids", accounts_before))

    pairs, dropped = _plan_steps(campaign, steps)
    _validate(
        campaign=campaign,
        target=profile,
        labels=campaign.labels,
        lead_sources=campaign.lead_sources,
        brief_links=campaign.brief_links,
        steps=steps,
        account_ids=account_ids,
        step_errors=_step_message_errors(pairs, dropped, step_message_counts(campaign=campaign)),
    )

    changed = [name for name in CAMPAIGN_FIELDS if getattr(campaign, name) != before[name]]
    changed += [name for name in TARGET_FIELDS if getattr(profile, name) != target_before[name]]
    if [(wanted["kind"], wanted["delay_days"], wanted["instruction"]) for wanted in steps] != steps_before:
        changed.append("steps")
    if set(account_ids) != accounts_before:
        changed.append("account_ids")
    if not changed:
        return campaign

    target_changes = [name for name in TARGET_FIELDS if name in changed]
    if target_changes:
        if profile.campaigns.exclude(pk=campaign.pk).exists():
            # Shared with another campaign (set up in the admin): this campaign gets its own copy.
            profile.pk, profile.name = None, campaign.name
        profile.save()
        campaign.target = profile
        campaign.search_cursors = {}  # a cursor pages the old search: the new one starts at its beginning
    campaign_changes = [name for name in CAMPAIGN_FIELDS if name in changed]
    if target_changes:
        campaign_changes += ["target", "search_cursors"]
    campaign.save(update_fields=[*campaign_changes, "updated_at"])
    if "steps" in changed:
        _save_steps(campaign, pairs, dropped)
    if "account_ids" in changed:
        campaign.sending_accounts.set(account_ids)
    activity_record(verb="campaign.updated", campaign=campaign, actor=actor, fields=changed)
    return campaign
