"""Writes on leads: finding, storing with dedupe, qualifying, and the Activity timeline."""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from campaigns.models import Campaign, SequenceStep
from leads import lifecycle
from leads.dedupe import KEYS, missing_details, name_key, normalise_email, normalise_linkedin_url
from leads.enrolments import Skip, enrolment_home, lead_enrol
from leads.lifecycle import Trigger, lead_transition, leads_transition
from leads.models import Activity, Company, Lead, SearchRun, Task
from leads.scoring import Scored, Signals, rescored, score_lead
from leads.selectors import in_campaign
from leads.sources.base import Prospect, SearchQuery, SourceError
from leads.sources.registry import source_for
from leads.suppression import is_suppressed
from leads.verbs import verb_checked
from salesdept import clock, dates, llm
from salesdept.models import LLMCall

logger = logging.getLogger(__name__)

MAX_PAGES_PER_RUN = 20


def activity_record(*, verb: str, lead=None, message=None, campaign=None, actor=None, **payload) -> Activity:
    """Write one timeline entry (activities_record)."""
    campaign_id = campaign.pk if campaign is not None else None
    entry = Activity(verb=verb, lead=lead, message=message, campaign_id=campaign_id, actor=actor, payload=payload)
    return activities_record([entry])[0]


def activities_record(activities: list[Activity]) -> list[Activity]:
    """Write timeline entries; a funnel milestone or send error is counted for the dashboard too.

    A few statements for a batch (the rows, the first milestones, each day's count), not four or
    five an entry. Each verb must be in the registry (leads.verbs.Verb): ValueError otherwise.
    """
    from hooks.events import events_for_activity
    from reporting.metrics import metrics_record_many  # reporting reads leads; counting is its business

    for activity in activities:
        activity.verb = verb_checked(activity.verb).value
        if activity.campaign_id is None:
            # The id, not the object: the timeline needs no query for the campaign it already names.
            activity.campaign_id = getattr(activity.message or activity.lead, "campaign_id", None)
    written = Activity.objects.bulk_create(activities)
    metrics_record_many(written)
    for activity in written:
        events_for_activity(activity)  # outbound webhooks: the one place every event passes
    return written


def _duplicate_of(linkedin_url: str, email: str, key: str) -> Lead | None:
    if linkedin_url and (lead := Lead.objects.filter(linkedin_url=linkedin_url).first()):
        return lead
    if email and (lead := Lead.objects.filter(email=email).first()):
        return lead
    return Lead.objects.filter(name_key=key).first() if key else None


def _company_for(prospect: Prospect) -> Company | None:
    if not prospect.company_name:
        return None
    details = {"name": prospect.company_name, "industry": prospect.industry, "employees": prospect.employees}
    if prospect.company_domain:
        company, _ = Company.objects.get_or_create(domain=prospect.company_domain.lower(), defaults=details)
    else:
        company, _ = Company.objects.get_or_create(name=prospect.company_name, domain="", defaults=details)
    return company


@dataclass
class Stored:
    """What storing one found person did: a new lead, a known one enrolled here, or why neither."""

    lead: Lead | None = None
    enrolled: Lead | None = None
    skipped: str = ""


def lead_store_prospect(*, campaign: Campaign, prospect: Prospect, source: str) -> Lead | None:
    """Store a new lead, or None when the person is already known (see prospect_store)."""
    return prospect_store(campaign=campaign, prospect=prospect, source=source).lead


def prospect_store(*, campaign: Campaign, prospect: Prospect, source: str) -> Stored:
    """Store a found person: a new lead, or a known person enrolled in this campaign too.

    A known person is never a second lead: what the source adds that we lack is merged into
    their lead (on their timeline), and they join this campaign unless they opted out, answered
    us, or are in it already (enrolments.lead_enrol says why not).
    """
    linkedin_url = normalise_linkedin_url(prospect.linkedin_url) or None
    email = normalise_email(prospect.email) or None
    key = name_key(prospect.first_name, prospect.last_name, prospect.company_name)
    if is_suppressed(Lead(email=email, linkedin_url=linkedin_url)):  # opted out or erased: not taken again
        return Stored(skipped=Skip.SUPPRESSED)
    if known := _duplicate_of(linkedin_url or "", email or "", key):
        _lead_merge_prospect(lead=known, prospect=prospect, source=source, linkedin_url=linkedin_url, email=email)
        if skipped := lead_enrol(lead=known, campaign=campaign, source=source):
            return Stored(skipped=skipped)
        return Stored(enrolled=known)
    try:
        with transaction.atomic():
            company = _company_for(prospect)
            lead = Lead.objects.create(
                first_name=prospect.first_name,
                last_name=prospect.last_name,
                headline=prospect.headline,
                position=prospect.position,
                seniority=prospect.seniority,
                company=company,
                linkedin_url=linkedin_url,
                provider_id=prospect.provider_id,
                email=email,
                name_key=key,
                location=prospect.location,
                timezone=prospect.timezone,
                campaign=campaign,
                source=source,
                source_ref=prospect.source_ref or prospect.provider_id,
                raw_profile=prospect.raw,
            )
            enrolment_home(lead=lead)
            activity_record(verb="lead.found", lead=lead, campaign=campaign, source=source)
    except IntegrityError:  # another worker stored the same person a moment ago
        return Stored(skipped=Skip.ALREADY_ENROLLED)
    return Stored(lead=lead)


def _lead_merge_prospect(*, lead: Lead, prospect: Prospect, source: str, linkedin_url, email) -> list[str]:
    incoming = {
        "last_name": prospect.last_name,
        "headline": prospect.headline,
        "position": prospect.position,
        "seniority": prospect.seniority,
        "location": prospect.location,
        "timezone": prospect.timezone,
        "provider_id": prospect.provider_id,
        "email": email,
        "linkedin_url": linkedin_url,
    }
    fields = missing_details(lead, incoming)
    for unique in KEYS:  # held by another lead: that is a different person
        if fields.get(unique) and Lead.objects.filter(**{unique: fields[unique]}).exclude(pk=lead.pk).exists():
            del fields[unique]
    try:
        with transaction.atomic():
            if lead.company_id is None and (company := _company_for(prospect)):
                fields["company"] = company
            if fields:
                Lead.objects.filter(pk=lead.pk).update(**fields)
            activity_record(
                verb="lead.merged",
                lead=lead,
                source=source,
                source_ref=prospect.source_ref or prospect.provider_id,
                fields=sorted(fields),
            )
    except IntegrityError:  # a concurrent writer took the email or URL meanwhile: keep what we have
        return []
    return sorted(fields)


def _search_query(campaign: Campaign) -> SearchQuery:
    target = campaign.target
    return SearchQuery(
        titles=target.titles,
        seniorities=target.seniorities,
        industries=target.industries,
        locations=target.locations,
        keywords=target.keywords,
    )


def _notes_of(source) -> list[str]:
    """What a source says it skipped or could not do (a limit reached, a filter with no match)."""
    return [str(note)[:300] for note in getattr(source, "notes", [])][:20]


def _skip_notes(skips: Counter[str]) -> list[str]:
    """Why known people were not added to the campaign, counted: "2 already known: do-not-contact"."""
    return [f"{n} already known: {reason}" for reason, n in sorted(skips.items())]


def leads_find(*, campaign_id: int, limit: int | None = None) -> list[int]:
    """Search the campaign's sources until `limit` new leads are stored; returns their ids.

    Each source's search is a SearchRun the campaign page shows while it runs. A source that
    fails ends its run as failed with the reason; its cursor stays where the last good page
    left it, so the next run resumes there, and the other sources still search.
    """
    campaign = Campaign.objects.select_related("target").get(pk=campaign_id)
    if campaign.status != Campaign.Status.ACTIVE:
        return []
    wanted = limit or campaign.daily_lead_quota
    if campaign.lead_goal is not None:  # the campaign asked for this many leads in all
        wanted = min(wanted, max(0, campaign.lead_goal - Lead.objects.filter(in_campaign(campaign.pk)).count()))
    if not wanted:
        return []
    query = _search_query(campaign)
    created: list[int] = []
    cursors = dict(campaign.search_cursors)
    for name in campaign.lead_sources or [settings.LEAD_SOURCE_DEFAULT]:
        if len(created) >= wanted or cursors.get(name) == "end":
            continue
        run = SearchRun.objects.create(campaign=campaign, source=name, wanted=wanted - len(created))
        source = None
        skips: Counter[str] = Counter()
        try:
            source = source_for(name, campaign=campaign)
            for _ in range(MAX_PAGES_PER_RUN):
                if len(created) >= wanted or cursors.get(name) == "end":
                    break
                page = source.search_people(query=query, cursor=cursors.get(name), limit=min(50, wanted - len(created)))
                results = [prospect_store(campaign=campaign, prospect=prospect, source=name) for prospect in page.items]
                stored = [result.lead.pk for result in results if result.lead]
                enrolled = sum(1 for result in results if result.enrolled)
                created += stored
                cursors[name] = page.cursor or "end"
                Campaign.objects.filter(pk=campaign.pk).update(search_cursors=cursors)
                SearchRun.objects.filter(pk=run.pk).update(
                    pages=F("pages") + 1,
                    found=F("found") + len(page.items),
                    stored=F("stored") + len(stored),
                    enrolled=F("enrolled") + enrolled,
                    duplicates=F("duplicates") + len(page.items) - len(stored) - enrolled,
                )
                skips.update(result.skipped for result in results if result.skipped)
        except SourceError as exc:
            SearchRun.objects.filter(pk=run.pk).update(
                status=SearchRun.Status.FAILED,
                error=str(exc)[:500],
                notes=_notes_of(source),
                finished_at=clock.now(),
            )
            activity_record(verb="campaign.search_failed", campaign=campaign, source=name, error=str(exc)[:500])
            continue
        SearchRun.objects.filter(pk=run.pk).update(
            status=SearchRun.Status.DONE, notes=_skip_notes(skips) + _notes_of(source), finished_at=clock.now()
        )
    return created


def lead_facts(lead: Lead) -> llm.LeadFacts:
    company = lead.company
    return llm.LeadFacts(
        first_name=lead.first_name,
        last_name=lead.last_name,
        position=lead.position,
        company=company.name if company else "",
        industry=company.industry if company else "",
        location=lead.location,
        headline=lead.headline,
        recent_posts=list(lead.raw_profile.get("recent_posts", [])),
        company_summary=company.summary if company else "",
    )


def _target_dict(campaign: Campaign) -> dict:
    target = campaign.target
    fields = ("titles", "seniorities", "industries", "locations", "company_sizes", "keywords", "exclusions")
    return {name: getattr(target, name) for name in fields}


def leads_qualify(*, lead_ids: list[int]) -> list[Lead]:
    """Classify and score new leads (model calls side by side); qualified at the campaign's minimum.

    Returns the leads this run qualified or disqualified; leads already done are skipped.
    """
    from campaigns.briefs import campaign_brief  # campaigns builds on leads, not the reverse

    leads = list(
        Lead.objects.select_related("company", "campaign__target", "campaign__owner")
        .filter(pk__in=lead_ids, status=Lead.Status.NEW, campaign__isnull=False)
        .order_by("pk")
    )
    briefs = {lead.campaign_id: campaign_brief(campaign=lead.campaign) for lead in leads}
    results = llm.qualify_many(
        [
            llm.QualifyJob(
                lead=lead_facts(lead),
                brief=briefs[lead.campaign_id],
                target=_target_dict(lead.campaign),
                lead_id=lead.pk,
                campaign_id=lead.campaign_id,
            )
            for lead in leads
        ]
    )
    done = []
    for lead, result in zip(leads, results, strict=True):
        try:
            recorded = _lead_record_qualification(lead=lead, result=result)
        except Exception:  # one lead's bad data must not leave the rest of its import `New` for ever
            logger.exception("Lead %s could not be qualified", lead.pk)
            continue
        if recorded:
            done.append(lead)
    _after_qualification([lead for lead in done if lead.status == Lead.Status.QUALIFIED])
    return done


def _after_qualification(qualified: list[Lead]) -> None:
    """What only a qualified lead is worth: its company's website read, its email bought.

    Enrichment is queued before allocation runs, so drafts usually have the summary; a draft
    written first simply goes without it.
    """
    from leads.enrichment import companies_enrich_for
    from leads.tasks import apollo_reveal_email_task

    real = [lead.pk for lead in qualified if lead.source != "sandbox"]  # sandbox companies do not exist
    if settings.ENRICH_WEBSITES and real:
        companies_enrich_for(real)
    # Apollo's search hides emails; buy one (a credit) only where an email step will use it.
    wanting = [lead for lead in qualified if lead.source == "apollo" and not lead.email]
    with_email_step = (
        set(
            SequenceStep.objects.filter(
                campaign_id__in={lead.campaign_id for lead in wanting}, kind="email"
            ).values_list("campaign_id", flat=True)
        )
        if wanting
        else set()
    )
    for lead in wanting:
        if lead.campaign_id in with_email_step:
            apollo_reveal_email_task.delay_on_commit(lead.pk)


def lead_rule_score(lead: Lead) -> Scored:
    """The rule score of a lead against its campaign's target (company and campaign__target loaded)."""
    company = lead.company
    profile = lead.raw_profile if isinstance(lead.raw_profile, dict) else {}
    return score_lead(
        position=lead.position,
        seniority=lead.seniority,
        industry=company.industry if company else "",
        employees=company.employees if company else None,
        location=lead.location,
        headline=lead.headline,
        company=company.name if company else "",
        recent_posts=len(profile.get("recent_posts", [])),
        target=lead.campaign.target,
        engaged=_engaged_why(profile),
    )


def _engaged_why(profile: dict) -> str:
    """ "Engaged with our post: ..." for a lead found through our post's reactions or comments."""
    engaged = profile.get("engaged_with_post")
    return str(engaged.get("why") or "") if isinstance(engaged, dict) else ""


def _with_engagement(lead: Lead, insight: str) -> str:
    """The why-line leads with how the person came to us, when it was through our post."""
    why = _engaged_why(lead.raw_profile if isinstance(lead.raw_profile, dict) else {})
    return f"{why}. {insight}"[:300] if why and why not in insight else insight


def _review_reason(result: "llm.Result[llm.Classification]") -> str:
    """Why the template classified a lead a model was meant to: a person should check it."""
    failed = (LLMCall.Outcome.INVALID, LLMCall.Outcome.ERROR, LLMCall.Outcome.FALLBACK)
    if not result.from_template or result.call.outcome not in failed:
        return ""
    return f"Classified by the offline template: {result.call.error}"[:500]


@transaction.atomic
def _lead_record_qualification(*, lead: Lead, result: "llm.Result[llm.Classification]") -> bool:
    from outreach.services import messages_reprioritise

    campaign, classification = lead.campaign, result.value
    scored = lead_rule_score(lead)
    status = Lead.Status.QUALIFIED if scored.score >= campaign.min_score else Lead.Status.DISQUALIFIED
    review_reason = _review_reason(result)
    needs_review = classification.confidence < settings.LLM_REVIEW_BELOW_CONFIDENCE or bool(review_reason)
    recorded = lead_transition(  # False: another worker qualified it meanwhile
        lead=lead,
        to=status,
        trigger=Trigger.QUALIFICATION,
        label=classification.label,
        label_confidence=classification.confidence,
        insight=_with_engagement(lead, classification.insight),
        needs_review=needs_review,
        review_reason=review_reason,
        classified_by=result.generated_by,
        score=scored.score,
        score_breakdown=scored.breakdown,
        payload={
            "score": scored.score,
            "label": classification.label,
            "confidence": classification.confidence,
            "llm_call": result.call.pk,
            "by_template": result.from_template,
        },
    )
    if recorded:
        messages_reprioritise(lead_ids=[lead.pk])
    return recorded


@transaction.atomic
def lead_override_score(*, lead: Lead, actor, score: int | None, reason: str) -> Lead:
    """A rep's own score wins over the rule score, and stays when the lead is rescored.

    At the campaign's minimum it brings a disqualified lead back into play: qualified, to be
    allocated like any other.
    """
    from outreach.services import messages_reprioritise

    previous = lead.score_override
    Lead.objects.filter(pk=lead.pk).update(score_override=score)
    messages_reprioritise(lead_ids=[lead.pk])
    activity_record(verb="lead.score_overridden", lead=lead, actor=actor, previous=previous, score=score, reason=reason)
    lead.score_override = score
    campaign = lead.campaign
    back = score is not None and campaign is not None and score >= campaign.min_score
    if back and lead_transition(
        lead=lead,
        to=Lead.Status.QUALIFIED,
        trigger=Trigger.REP_SCORES,
        actor=actor,
        reason=f"Scored {score} by hand; the campaign's minimum is {campaign.min_score}",
    ):
        _after_qualification([lead])
    return lead


def lead_relabel(*, lead: Lead, actor, label: str) -> bool:
    """A rep puts the lead under another of its campaign's labels: the next draft leads with that angle.

    False when the label is the one it has. ValueError for a label the campaign does not have.
    """
    campaign = lead.campaign
    if campaign is None or label not in campaign.label_names:
        raise ValueError(f"“{label}” is not one of the campaign's labels.")
    with transaction.atomic():
        previous = Lead.objects.select_for_update().values_list("label", flat=True).get(pk=lead.pk)
        if previous == label:
            return False
        fields = {
            "label": label,
            "label_confidence": None,
            "needs_review": False,
            "review_reason": "",
            "classified_by": "rep",
        }
        Lead.objects.filter(pk=lead.pk).update(**fields, updated_at=clock.now())
        activity_record(verb="lead.relabelled", lead=lead, actor=actor, previous=previous, label=label)
    for name, value in fields.items():
        setattr(lead, name, value)
    return True


REQUALIFIABLE = frozenset({Lead.Status.NEW, Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED})


def lead_requalify(*, lead: Lead, actor) -> bool:
    """Run qualification again for one lead before it is contacted: new label, insight and score.

    The rep's own score, when set, still decides against the campaign's minimum. A lead that
    crosses it moves between qualified and disqualified (and a disqualified one's drafts are
    cancelled). False when the lead is past qualification or has no campaign.
    """
    from campaigns.briefs import campaign_brief

    if lead.status not in REQUALIFIABLE or lead.campaign_id is None:
        return False
    if lead.status == Lead.Status.NEW:
        return bool(leads_qualify(lead_ids=[lead.pk]))
    lead = Lead.objects.select_related("company", "campaign__target").get(pk=lead.pk)
    job = llm.QualifyJob(
        lead=lead_facts(lead),
        brief=campaign_brief(campaign=lead.campaign),
        target=_target_dict(lead.campaign),
        lead_id=lead.pk,
        campaign_id=lead.campaign_id,
    )
    [result] = llm.qualify_many([job])  # outside any transaction: a model call takes seconds
    return _lead_record_requalification(lead=lead, actor=actor, result=result)


@transaction.atomic
def _lead_record_requalification(*, lead: Lead, actor, result: "llm.Result[llm.Classification]") -> bool:
    from outreach.services import messages_cancel_for_lead, messages_reprioritise

    campaign, classification = lead.campaign, result.value
    scored = lead_rule_score(lead)
    ranked = lead.score_override if lead.score_override is not None else scored.score
    status = Lead.Status.QUALIFIED if ranked >= campaign.min_score else Lead.Status.DISQUALIFIED
    review_reason = _review_reason(result)
    fields = {
        "label": classification.label,
        "label_confidence": classification.confidence,
        "insight": classification.insight,
        "needs_review": classification.confidence < settings.LLM_REVIEW_BELOW_CONFIDENCE or bool(review_reason),
        "review_reason": review_reason,
        "classified_by": result.generated_by,
        "score": scored.score,
        "score_breakdown": scored.breakdown,
    }
    before = lead.status
    if status != before:
        if not lead_transition(lead=lead, to=status, trigger=Trigger.REQUALIFICATION, actor=actor, **fields):
            return False  # contacted or moved meanwhile: this reading is stale
    elif not Lead.objects.filter(pk=lead.pk, status=before).update(**fields, updated_at=clock.now()):
        return False
    messages_reprioritise(lead_ids=[lead.pk])
    activity_record(
        verb="lead.requalified",
        lead=lead,
        actor=actor,
        **{"from": before, "to": status, "score": scored.score, "label": classification.label},
        llm_call=result.call.pk,
        by_template=result.from_template,
    )
    if status == Lead.Status.DISQUALIFIED and before != status:
        messages_cancel_for_lead(lead=lead, reason="Disqualified when qualification ran again")
    elif status == Lead.Status.QUALIFIED and before != status:
        _after_qualification([lead])
    return True


# Tasks: a rep's plain words on a lead, dated; a draft for approval when due (outreach.services).


def rep_calendar(*, owner, campaign_id: int | None) -> tuple[dt.tzinfo, str]:
    """The zone and date order a rep's dates are read in: their sending account's on the campaign,
    else any of theirs, else the project's."""
    from outreach.models import SendingAccount

    accounts = SendingAccount.objects.filter(owner=owner, is_active=True).order_by("pk")
    account = (campaign_id and accounts.filter(campaigns=campaign_id).first()) or accounts.first()
    if account is None:
        return dates.zone(), "DMY"
    return dates.zone(account.timezone), dates.date_order(account.locale)


def task_add(*, lead: Lead, actor, text: str) -> Task:
    """A rep's task in plain words, read by the model (or the offline reader) as a due date and an
    instruction for the draft; due today when it names no date. Its owner is the lead's rep."""
    text = " ".join(text.split())[:300]
    owner = lead.owner or actor
    zone, order = rep_calendar(owner=owner, campaign_id=lead.campaign_id)
    now = clock.now()
    # Outside the transaction: a model call takes seconds.
    result = llm.read_task(
        text=text,
        now=now,
        tz=zone,
        date_order=order,
        lead=lead_facts(lead),
        lead_id=lead.pk,
        campaign_id=lead.campaign_id,
    )
    due_on = result.value.due_on or now.astimezone(zone).date()
    with transaction.atomic():
        task = Task.objects.create(
            lead=lead,
            owner=owner,
            created_by=actor,
            text=text,
            instruction=result.value.instruction.strip()[:300] or text,
            due_on=due_on,
            timezone=str(zone),
            due_at=dt.datetime.combine(due_on, dt.time.min, tzinfo=zone),
            read_by="offline reader" if result.from_template else result.call.model,
        )
        activity_record(verb="task.added", lead=lead, actor=actor, task=task.pk, text=text, due_on=due_on.isoformat())
    return task


@transaction.atomic
def task_close(*, task: Task, actor, to: str) -> bool:
    """Done or cancelled, once; a cancelled task's draft still waiting for approval is cancelled too."""
    from outreach.models import OutreachMessage

    if to not in (Task.Status.DONE, Task.Status.CANCELLED):
        raise ValueError(f"A task is closed as done or cancelled, not {to}")
    if not Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(status=to, closed_at=clock.now()):
        return False
    task.status = to
    verb = "task.done" if to == Task.Status.DONE else "task.cancelled"
    activity_record(verb=verb, lead=task.lead, actor=actor, task=task.pk, text=task.text)
    if to == Task.Status.CANCELLED:
        waiting = (OutreachMessage.Status.GENERATING, OutreachMessage.Status.PENDING_APPROVAL)
        for message in OutreachMessage.objects.filter(task=task, status__in=waiting):
            if OutreachMessage.objects.filter(pk=message.pk, status=message.status).update(
                status=OutreachMessage.Status.CANCELLED, last_error="Its task was cancelled"
            ):
                activity_record(verb="message.cancelled", lead=task.lead, message=message, reason="Task cancelled")
    return True


@transaction.atomic
def lead_set_do_not_contact(*, lead: Lead, actor, reason: str) -> bool:
    """Absolute: the lead's pending and approved messages are cancelled with it."""
    from outreach.services import messages_cancel_for_lead

    if not lead_transition(
        lead=lead, to=Lead.Status.DO_NOT_CONTACT, trigger=Trigger.OPT_OUT, actor=actor, reason=reason
    ):
        return False
    messages_cancel_for_lead(lead=lead, reason=f"Do not contact: {reason}")
    return True


@transaction.atomic
def lead_set_nurture(*, lead: Lead, actor, enabled: bool) -> bool:
    """The rep turns weekly nurturing touches on or off for this person; False when it already was so.

    Turning it off also cancels a nurturing touch still waiting for approval or its send.
    """
    if not Lead.objects.filter(pk=lead.pk, nurture_off=enabled).update(nurture_off=not enabled):
        return False
    lead.nurture_off = not enabled
    activity_record(verb="nurture.on" if enabled else "nurture.off", lead=lead, actor=actor)
    if not enabled:
        from outreach.models import OutreachMessage

        waiting = OutreachMessage.objects.filter(
            lead=lead, nurture__isnull=False, status__in=("generating", "pending_approval", "approved")
        )
        for message in waiting:
            if OutreachMessage.objects.filter(pk=message.pk, status=message.status).update(
                status="cancelled", last_error="Nurturing turned off for this person"
            ):
                activity_record(verb="message.cancelled", lead=lead, message=message, reason="Nurturing turned off")
    return True


@transaction.atomic
def lead_book_meeting(*, lead: Lead, actor) -> bool:
    """The rep booked a meeting: the funnel's last stage, counted on the dashboard and in the report."""
    from outreach.services import messages_cancel_for_lead

    if not lead_transition(
        lead=lead, to=Lead.Status.MEETING, trigger=Trigger.REP_BOOKS_MEETING, actor=actor, snoozed_until=None
    ):
        return False
    messages_cancel_for_lead(lead=lead, reason="A meeting is booked: the sequence stops")
    return True


@transaction.atomic
def lead_close(*, lead: Lead, actor, won: bool, reason: str = "") -> bool:
    """The rep closes the lead, won or lost: the sequence stops and the status is final.

    One rule with deals: a lead with an open deal is closed by moving the deal to the team's won or
    lost stage (deals.services.deal_move), which closes the lead with it; so a lead is never won
    while its deal stays open.
    """
    from deals.services import DealError, deal_close_for_lead

    try:
        closed_by_deal = deal_close_for_lead(lead=lead, actor=actor, won=won, reason=reason)
    except DealError:
        return False
    return closed_by_deal or lead_mark_closed(lead=lead, actor=actor, won=won, reason=reason)


def lead_mark_closed(*, lead: Lead, actor, won: bool, reason: str = "") -> bool:
    """What closing a lead is, with a deal or without: won or lost, and nothing more goes to them."""
    from outreach.services import messages_cancel_for_lead

    to = Lead.Status.WON if won else Lead.Status.LOST
    if not lead_transition(
        lead=lead, to=to, trigger=Trigger.REP_CLOSES, actor=actor, reason=reason, snoozed_until=None
    ):
        return False
    messages_cancel_for_lead(lead=lead, reason=f"Closed as {to}: the sequence stops")
    return True


@transaction.atomic
def lead_snooze(*, lead: Lead, actor, until: dt.date, reason: str = "") -> bool:
    """Not now: the lead's drafts leave the queue and nothing is sent until `until`.

    Pending drafts are kept, not cancelled: they come back to the queue when the lead wakes.
    """
    return lead_transition(
        lead=lead, to=Lead.Status.SNOOZED, trigger=Trigger.REP_SNOOZES, actor=actor, reason=reason, snoozed_until=until
    )


def leads_wake_snoozed(*, today: dt.date) -> int:
    """Snoozed leads whose date has come go back to work: contacted if anything was sent, else qualified."""
    from outreach.models import OutreachMessage

    due = list(Lead.objects.filter(status=Lead.Status.SNOOZED, snoozed_until__lte=today).values_list("pk", flat=True))
    sent = set(
        OutreachMessage.objects.filter(lead__in=due, status=OutreachMessage.Status.SENT).values_list(
            "lead_id", flat=True
        )
    )
    woken = 0
    # A lead snoozed again meanwhile, to a later date, stays asleep.
    for to, ids in (
        (Lead.Status.CONTACTED, [pk for pk in due if pk in sent]),
        (Lead.Status.QUALIFIED, [pk for pk in due if pk not in sent]),
    ):
        if ids:
            woken += len(
                leads_transition(
                    lead_ids=ids,
                    to=to,
                    trigger=Trigger.SNOOZE_WAKES,
                    guard=Q(snoozed_until__lte=today),
                    snoozed_until=None,
                )
            )
    return woken


# Leads whose score still matters: someone may contact them, or is talking to them.
RESCORED = lifecycle.RESCORED
RESCORE_BATCH = 500


def _signals_for(leads: list[Lead], now: dt.datetime) -> dict[int, Signals]:
    from outreach.models import InboundMessage, OutreachMessage

    ids = [lead.pk for lead in leads]
    accepted = set(
        OutreachMessage.objects.filter(lead_id__in=ids, accepted_at__isnull=False).values_list("lead_id", flat=True)
    )
    last_reply, replies, positive = {}, {}, set()
    for lead_id, at, intent in InboundMessage.objects.filter(lead_id__in=ids).values_list(
        "lead_id", "received_at", "intent"
    ):
        replies[lead_id] = replies.get(lead_id, 0) + 1
        last_reply[lead_id] = max(at, last_reply.get(lead_id, at))
        if intent in ("interested", "requesting_info"):
            positive.add(lead_id)
    unanswered: dict[int, int] = {}
    for lead_id, sent_at in OutreachMessage.objects.filter(lead_id__in=ids, status="sent").values_list(
        "lead_id", "sent_at"
    ):
        if sent_at and (lead_id not in last_reply or sent_at > last_reply[lead_id]):
            unanswered[lead_id] = unanswered.get(lead_id, 0) + 1
    signals = {}
    for lead in leads:
        keywords = lead.campaign.target.keywords if lead.campaign else []
        posts = " ".join(lead.raw_profile.get("recent_posts", []) if isinstance(lead.raw_profile, dict) else []).lower()
        signals[lead.pk] = Signals(
            accepted=lead.pk in accepted,
            replies=replies.get(lead.pk, 0),
            positive=lead.pk in positive,
            unanswered=unanswered.get(lead.pk, 0),
            topic_posts=[word for word in keywords if word.lower() in posts],
            activity=lead.activity if lead.activity_read_at else None,
            keywords=keywords,
            now=now,
        )
    return signals


def leads_rescore(
    *, campaign_id: int | None = None, lead_ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """The daily rescore: engagement and intent move the rule score; returns how many changed.

    A rep's own score (score_override) still wins in every ranking; the rule score under it is
    kept current. Works in batches, a few queries each, whatever the number of leads. Recency
    (of LinkedIn activity) is measured from `now`.
    """
    from outreach.services import messages_reprioritise

    now = now or clock.now()
    leads = Lead.objects.filter(status__in=RESCORED, campaign__isnull=False, campaign__status=Campaign.Status.ACTIVE)
    if campaign_id is not None:
        leads = leads.filter(campaign_id=campaign_id)
    if lead_ids is not None:
        leads = leads.filter(pk__in=lead_ids)
    leads = leads.select_related("company", "campaign__target").order_by("pk")
    changed, after = 0, 0
    while batch := list(leads.filter(pk__gt=after)[:RESCORE_BATCH]):
        after = batch[-1].pk
        signals = _signals_for(batch, now)
        updated, activities = [], []
        for lead in batch:
            base = lead_rule_score(lead)
            scored = rescored(base, signals[lead.pk])
            if scored.score == lead.score and scored.breakdown == lead.score_breakdown:
                continue  # a new reason at the same score is still shown: the breakdown is what a rep reads
            activities.append(
                Activity(
                    lead=lead,
                    campaign_id=lead.campaign_id,
                    verb="lead.rescored",
                    payload={"previous": lead.score, "score": scored.score},
                )
            )
            lead.score, lead.score_breakdown = scored.score, scored.breakdown
            updated.append(lead)
        with transaction.atomic():
            Lead.objects.bulk_update(updated, ["score", "score_breakdown"])
            Activity.objects.bulk_create(activities)
            messages_reprioritise(lead_ids=[lead.pk for lead in updated])
        changed += len(updated)
    return changed
