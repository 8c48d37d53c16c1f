"""Writes on needs summaries and proposals: draft, edit, create, put in the approval queue, mark sent.

A proposal reaches the prospect only as a link in an ordinary OutreachMessage: drafted outside the
sequence (step 0), approved in the queue by a person, sent by the normal send. Its text and PDF
freeze when it goes to the queue (conditional UPDATE from draft), and the link serves that PDF
once the message is approved. A sent proposal never changes: a new version is a new proposal.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Max

from leads.lifecycle import ANSWERS_STOPPED
from leads.models import Lead
from leads.services import activity_record, lead_facts
from leads.suppression import is_suppressed
from outreach.guardrails import check_message
from outreach.models import OutreachMessage
from outreach.selectors import accounts_to_write, kind_to_write, kinds_to_write
from proposals import links
from proposals.models import NeedsSummary, Offer, Proposal
from proposals.needs import checked_point, read_needs
from proposals.pdf import proposal_pdf
from proposals.selectors import conversation_turns
from salesdept import clock
from salesdept.llm.template import NAME as TEMPLATE_NAME
from salesdept.people import display_name
from salesdept.ratelimit import rate_limit_take

Kind, Status = OutreachMessage.Kind, OutreachMessage.Status
PROPOSAL_STEP = 0  # outside the sequence, like a rep's own message (outreach.services.WRITTEN_STEP)
TEXT_FIELDS = ("title", "prospect_name", "company_name", "intro", "timeline", "terms", "closing")


class ProposalError(Exception):
    """A step that cannot be taken; the text is shown to the person who tried."""


def _known_names(lead: Lead) -> str:
    """Names a point may use without quoting them: the prospect's own and their company's."""
    return f"{lead.first_name} {lead.last_name} {lead.company.name if lead.company_id else ''}"


# Needs ------------------------------------------------------------------------------------------


def needs_summary_draft(*, lead: Lead, actor) -> NeedsSummary:
    """Read the conversation into a needs summary; every point checked against the prospect's words.

    The model is asked outside any transaction: no row stays locked while it thinks.
    """
    turns = conversation_turns(lead)
    if not any(turn.theirs for turn in turns):
        raise ProposalError(f"{lead} has not written to us yet: there are no words of theirs to summarise.")
    rate_limit_take(user=actor, action="needs_summary", error=ProposalError)  # each is a model call
    facts = lead_facts(lead).as_dict()
    facts.pop("recent_posts", None)  # what they need comes from what they wrote to us, not their posts
    result = read_needs(lead=facts, turns=turns, lead_id=lead.pk)
    by = "template" if result.from_template else "model"
    known = _known_names(lead)
    points = [
        checked_point(field=p.field, text=p.text, quote=p.quote, ref=p.message, turns=turns, by=by, known=known)
        for p in result.value.points
    ]
    flagged = sum(1 for point in points if point["flag"])
    with transaction.atomic():
        needs = NeedsSummary.objects.create(
            lead=lead, points=points, generated_by=result.generated_by, llm_call=result.call, created_by=actor
        )
        activity_record(
            verb="needs.drafted",
            lead=lead,
            actor=actor,
            needs=needs.pk,
            generated_by=needs.generated_by,
            flagged=flagged,
        )
    return needs


@transaction.atomic
def needs_summary_edit(*, needs: NeedsSummary, actor, revision: int, points: list[dict]) -> NeedsSummary:
    """The rep's version of the points: each checked by the same rule; a changed or new point is the rep's.

    points: [{"field", "text", "quote", "orig" (index of the point it edits, or None)}].
    """
    turns = conversation_turns(needs.lead)
    known = _known_names(needs.lead)
    kept = []
    for point in points:
        original = needs.points[point["orig"]] if point.get("orig") is not None else None
        unchanged = original is not None and all(
            " ".join(point[key].split()) == original[key] for key in ("field", "text", "quote")
        )
        if unchanged:
            kept.append(original)
            continue
        ref = original.get("ref", "") if original else ""
        by = "rep"
        kept.append(
            checked_point(turns=turns, ref=ref, by=by, known=known, **{k: point[k] for k in ("field", "text", "quote")})
        )
    now = clock.now()
    if not NeedsSummary.objects.filter(pk=needs.pk, revision=revision).update(
        points=kept, edited_by=actor, edited_at=now, revision=revision + 1
    ):
        raise ProposalError("This summary changed since you opened it: review the new version and edit again.")
    activity_record(verb="needs.edited", lead=needs.lead, actor=actor, needs=needs.pk)
    needs.refresh_from_db()
    return needs


# Proposals --------------------------------------------------------------------------------------


def _intro(lead: Lead, offer: Offer) -> str:
    intro = (
        f"Dear {lead.first_name or lead.full_name},\n\nThank you for telling us what you need. This proposal answers "
        "it in your own words, with the packages we offer and how we would deliver them."
    )
    return f"{intro}\n\n{offer.summary.strip()}" if offer.summary.strip() else intro


@transaction.atomic
def proposal_create(*, needs: NeedsSummary, offer: Offer, actor) -> Proposal:
    """A draft proposal from the offer's template, filled from the summary's checked points only."""
    lead = needs.lead
    if not offer.is_active:
        raise ProposalError(f"The offer “{offer}” is retired: choose another.")
    packages = [
        {"name": p.name, "included": p.included, "price": str(p.price), "currency": p.currency}
        for p in offer.packages.all()
    ]
    if not packages:
        raise ProposalError(f"The offer “{offer}” has no packages yet: an admin adds them first.")
    # Lock the lead's row: two clicks at once would otherwise both take the next version number.
    Lead.objects.select_for_update().filter(pk=lead.pk).first()
    version = (Proposal.objects.filter(lead=lead).aggregate(v=Max("version"))["v"] or 0) + 1
    company = lead.company.name if lead.company_id else ""
    proposal = Proposal.objects.create(
        lead=lead,
        needs=needs,
        offer=offer,
        version=version,
        title=f"{offer.name} for {company or lead.full_name}"[:200],
        prospect_name=lead.full_name,
        company_name=company,
        intro=_intro(lead, offer),
        timeline=offer.timeline,
        terms=offer.terms,
        closing=f"Kind regards,\n{display_name(lead.owner)}" if lead.owner_id else "",
        needs_points=[{k: p[k] for k in ("field", "text", "quote")} for p in needs.checked_points],
        packages=packages,
        created_by=actor,
    )
    activity_record(verb="proposal.created", lead=lead, actor=actor, proposal=proposal.pk, version=version)
    return proposal


@transaction.atomic
def proposal_update(*, proposal: Proposal, actor, data: dict) -> Proposal:
    """The rep's text; refused once the proposal went to the queue (its PDF is what the approver saw)."""
    fields = {name: data[name] for name in TEXT_FIELDS}
    if not Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.DRAFT).update(
        **fields, updated_at=clock.now()
    ):
        raise ProposalError(_frozen(proposal))
    activity_record(verb="proposal.edited", lead=proposal.lead, actor=actor, proposal=proposal.pk)
    proposal.refresh_from_db()
    return proposal


def _frozen(proposal: Proposal) -> str:
    current = Proposal.objects.get(pk=proposal.pk)
    if current.status == Proposal.Status.SENT:
        return "This proposal was sent and cannot change: make a new version."
    return "This proposal is in the approval queue and cannot change: reject its message there to edit it again."


def _sending_kind(lead: Lead) -> str | None:
    """How the proposal goes: the conversation's own way, else email when they have a working address."""
    kinds = kinds_to_write(lead.owner)
    offered = {kind for kind, _ in kinds}
    kind = kind_to_write(lead, kinds)
    if kind is None and lead.email and lead.email_bounced_at is None and Kind.EMAIL in offered:
        kind = Kind.EMAIL
    if kind is None and Kind.MESSAGE in offered and lead.linkedin_url:
        kind = Kind.MESSAGE
    return kind


def _body(proposal: Proposal, url: str, expires: dt.datetime) -> str:
    lead = proposal.lead
    return (
        f"Hi {lead.first_name},\n\nThank you for telling us what you need. Here is our proposal, "
        f"{proposal.title}, with the packages, prices and timeline:\n{url}\n\n"
        f"The link works until {expires:%-d %B %Y}. I am happy to walk you through it.\n\n"
        f"Best,\n{display_name(lead.owner)}"
    )


def _send_refusal(lead: Lead) -> str:
    if lead.status in ANSWERS_STOPPED or is_suppressed(lead):
        return f"{lead} opted out (do-not-contact): nothing may be sent to them."
    if lead.owner_id is None:
        return f"{lead} has no rep: a proposal goes from the lead's own rep."
    if lead.campaign_id is None:
        return f"{lead} is in no campaign: add them to one first."
    return ""


@transaction.atomic
def proposal_send(*, proposal: Proposal, actor) -> OutreachMessage:
    """Freeze the proposal and put a message carrying its link in the approval queue.

    Nothing goes out here: the message waits for a person's approval, then for the normal send
    (its window, caps and the person's contact budget). The link serves this PDF once approved.
    """
    lead = Lead.objects.select_related("owner", "campaign", "company").get(pk=proposal.lead_id)
    if refusal := _send_refusal(lead):
        raise ProposalError(refusal)
    if not proposal.editable:
        raise ProposalError(_frozen(proposal))
    kind = _sending_kind(lead)
    accounts = accounts_to_write(actor=lead.owner, kind=kind, campaign=lead.campaign) if kind else []
    if not accounts:
        raise ProposalError(f"None of {display_name(lead.owner)}'s sending accounts can reach {lead}.")
    now = clock.now()
    key, expires = links.new_link(now)
    pdf = proposal_pdf(proposal)
    message = OutreachMessage.objects.create(
        lead=lead,
        campaign=lead.campaign,
        account=accounts[0],
        step=PROPOSAL_STEP,
        kind=kind,
        subject=proposal.title if kind in (Kind.EMAIL, Kind.INMAIL) else "",
        generated_by=TEMPLATE_NAME,
        status=Status.GENERATING,  # not in the queue until its text and findings are written below
    )
    if not Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.DRAFT).update(
        status=Proposal.Status.QUEUED, message=message, link_key=key, link_expires_at=expires, pdf=pdf, queued_at=now
    ):
        raise ProposalError(_frozen(proposal))
    proposal.refresh_from_db()
    body = _body(proposal, links.public_url(proposal), expires)
    findings = check_message(message=message, subject=message.subject, body=body, by_rep=True)
    if blocking := [f["message"] for f in findings if f["blocking"]]:
        raise ProposalError("The message cannot go as written: " + " ".join(blocking))
    OutreachMessage.objects.filter(pk=message.pk).update(
        body=body, original_body=body, original_subject=message.subject, guardrail_findings=findings,
        status=Status.PENDING_APPROVAL,
    )  # fmt: skip
    message.refresh_from_db()
    activity_record(verb="proposal.queued", lead=lead, message=message, actor=actor, proposal=proposal.pk)
    return message


@transaction.atomic
def proposal_reopen(*, proposal: Proposal, actor) -> Proposal:
    """Back to draft after its message was rejected or cancelled: it never went, so it may change."""
    message = proposal.message
    if message is None or message.status not in (Status.REJECTED, Status.CANCELLED, Status.FAILED):
        raise ProposalError(_frozen(proposal))
    if not Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.QUEUED, message=message).update(
        status=Proposal.Status.DRAFT, link_key="", link_expires_at=None, pdf=None, queued_at=None
    ):
        raise ProposalError(_frozen(proposal))
    activity_record(verb="proposal.edited", lead=proposal.lead, actor=actor, proposal=proposal.pk, reopened=True)
    proposal.refresh_from_db()
    return proposal


def proposal_sent_for(*, message: OutreachMessage, now: dt.datetime) -> bool:
    """Called where a message becomes sent (outreach.sending, outreach.reconcile): its proposal is sent too.

    Only a step-0 message can carry a proposal: a sequence step's send costs no query here.
    """
    if message.step != PROPOSAL_STEP:
        return False
    proposal = Proposal.objects.filter(message=message, status=Proposal.Status.QUEUED).only("pk").first()
    if proposal is None:
        return False
    if not Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.QUEUED).update(
        status=Proposal.Status.SENT, sent_at=now
    ):
        return False
    activity_record(verb="proposal.sent", lead=message.lead, message=message, proposal=proposal.pk)
    return True


@transaction.atomic
def proposal_new_version(*, proposal: Proposal, actor) -> Proposal:
    """A copy of a sent (or queued) proposal as the lead's next version, in draft."""
    Lead.objects.select_for_update().filter(pk=proposal.lead_id).first()
    version = (Proposal.objects.filter(lead_id=proposal.lead_id).aggregate(v=Max("version"))["v"] or 0) + 1
    copy = Proposal.objects.create(
        lead_id=proposal.lead_id,
        needs=proposal.needs,
        offer=proposal.offer,
        version=version,
        needs_points=proposal.needs_points,
        packages=proposal.packages,
        created_by=actor,
        **{name: getattr(proposal, name) for name in TEXT_FIELDS},
    )
    activity_record(verb="proposal.created", lead=proposal.lead, actor=actor, proposal=copy.pk, version=version)
    return copy


def proposals_erase_for_lead(*, lead: Lead) -> int:
    """Erasure (leads.privacy): the person's needs summaries and proposals go, PDFs and quotes with them.

    Their messages stay as the erasure leaves them (emptied), so the counts keep their history.
    """
    deleted, _ = Proposal.objects.filter(lead=lead).delete()
    needs, _ = NeedsSummary.objects.filter(lead=lead).delete()
    return deleted + needs
