"""Enrolments: one person, one lead, in one or more campaigns.

A search or import of a campaign that finds a person we already know enrols them in it, unless
they must not be contacted again or are already talking to us; a reply (or an opt-out) stops
every enrolment of the person, whichever campaign it came from. The contact budget stays on the
person (outreach.sending._contact_budget_wait), so two campaigns never crowd one inbox.
"""

import datetime as dt

from django.db import IntegrityError, transaction

from leads.models import Enrolment, Lead
from leads.suppression import is_suppressed
from salesdept import clock

S = Lead.Status
# A person in one of these is not enrolled anywhere new: they opted out, answered us, or their
# story with us is closed. (New, qualified, contacted and snoozed people may join a campaign.)
NOT_ENROLLED = frozenset({S.REPLIED, S.INTERESTED, S.MEETING, S.WON, S.LOST, S.DO_NOT_CONTACT})
# Moving to one of these stops every enrolment: the person answered, opted out or is closed.
STOPS_ENROLMENTS = NOT_ENROLLED


class Skip:
    """Why a known person found by a campaign's search or import is not enrolled in it (counted)."""

    SUPPRESSED = "suppressed"
    DO_NOT_CONTACT = "do-not-contact"
    IN_CONVERSATION = "replied or closed"
    ALREADY_ENROLLED = "already in this campaign"


def enrolment_refusal(*, lead: Lead, campaign_id: int) -> str:
    """Why this known person is not enrolled in the campaign, or "" when they may be."""
    if lead.status == S.DO_NOT_CONTACT:
        return Skip.DO_NOT_CONTACT
    if is_suppressed(lead):
        return Skip.SUPPRESSED
    if lead.status in NOT_ENROLLED:
        return Skip.IN_CONVERSATION
    if lead.campaign_id == campaign_id or Enrolment.objects.filter(lead=lead, campaign_id=campaign_id).exists():
        return Skip.ALREADY_ENROLLED
    return ""


def enrolment_home(*, lead: Lead, now: dt.datetime | None = None) -> None:
    """The enrolment of a new lead in its home campaign (idempotent)."""
    if lead.campaign_id is not None:
        Enrolment.objects.get_or_create(
            lead=lead, campaign_id=lead.campaign_id, defaults={"enrolled_at": now or clock.now()}
        )


def lead_enrol(*, lead: Lead, campaign, source: str, actor=None) -> str:
    """Enrol a known person in another campaign; "" when enrolled, else why not (a Skip reason).

    Their home enrolment is written too when it is missing, so both campaigns read the same way.
    """
    from leads.services import activity_record

    if refusal := enrolment_refusal(lead=lead, campaign_id=campaign.pk):
        return refusal
    now = clock.now()
    try:
        with transaction.atomic():
            enrolment_home(lead=lead, now=now)
            Enrolment.objects.create(lead=lead, campaign=campaign, enrolled_at=now)
            activity_record(verb="lead.enrolled", lead=lead, campaign=campaign, actor=actor, source=source)
    except IntegrityError:  # another search or import enrolled them a moment ago
        return Skip.ALREADY_ENROLLED
    return ""


def enrolments_stop(*, lead: Lead, reason: str, now: dt.datetime) -> int:
    """Stop every active enrolment of the person (a reply, an opt-out); returns how many stopped."""
    enrolment_home(lead=lead, now=now)  # a home lead without its row gets one, stopped with the rest
    return Enrolment.objects.filter(lead=lead, status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.STOPPED, stopped_reason=reason[:300], stopped_at=now
    )


def enrolment_step_sent(*, lead_id: int, campaign_id: int, step: int) -> None:
    """A step of the campaign's sequence went out: the enrolment's step moves forward, never back."""
    Enrolment.objects.filter(lead_id=lead_id, campaign_id=campaign_id, step__lt=step).update(step=step)
