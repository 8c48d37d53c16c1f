"""Opening, moving and editing deals: every write, each with its timeline entry and webhook event.

A stage move is a conditional UPDATE on the stage the rep saw, so of two concurrent moves one
wins and the other is told. A won or lost stage closes the deal and closes the lead the same
way through the lead lifecycle; a closed deal does not move again (a new deal does).
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from deals.currencies import currency_checked
from deals.models import Deal, DealStage
from leads.lifecycle import TransitionRefused, Trigger
from leads.models import Lead
from leads.services import activity_record, lead_book_meeting, lead_mark_closed
from leads.verbs import Verb
from salesdept import clock

S = Lead.Status
# A deal starts from a conversation: the states a meeting can be booked from, and a meeting.
OPENABLE = frozenset({S.CONTACTED, S.REPLIED, S.INTERESTED, S.MEETING, S.SNOOZED})
EDITABLE = ("value", "currency", "expected_close", "next_step")


CENT = Decimal("0.01")


class DealError(Exception):
    """The move or change was refused; the text is for the person who tried."""


def _currency(code: str) -> str:
    """Every way in (a page, the API, a script) stores a real ISO 4217 code or nothing."""
    try:
        return currency_checked(code)
    except ValueError as exc:
        raise DealError(str(exc)) from None


def stages_open() -> list[DealStage]:
    return list(DealStage.objects.filter(is_active=True))


def deal_open(
    *,
    lead: Lead,
    actor,
    value: Decimal = Decimal(0),
    currency: str = "",
    expected_close: dt.date | None = None,
    next_step: str = "",
    now: dt.datetime | None = None,
) -> Deal:
    """Open a deal at the first open stage (in DEALS_DEFAULT_CURRENCY unless told); the meeting is booked if not yet."""
    currency = _currency(currency or settings.DEALS_DEFAULT_CURRENCY)
    if lead.status not in OPENABLE:
        raise DealError(f"{lead} is at “{S(lead.status).label.lower()}”: a deal starts from a conversation.")
    first = DealStage.objects.filter(is_active=True, outcome=DealStage.Outcome.OPEN).first()
    if first is None:
        raise DealError("There is no open deal stage: an admin adds one under Deal stages.")
    now = now or clock.now()
    try:
        with transaction.atomic():
            deal = Deal.objects.create(
                lead=lead, campaign_id=lead.campaign_id, owner=lead.owner or actor, stage=first,
                value=Decimal(value).quantize(CENT), currency=currency, expected_close=expected_close,
                next_step=next_step, opened_at=now, stage_changed_at=now,
            )  # fmt: skip
            # Booked as the lead page books one: the sequence's waiting drafts stop with it.
            if lead.status != S.MEETING and not lead_book_meeting(lead=lead, actor=actor):
                raise TransitionRefused(lead, trigger=Trigger.REP_BOOKS_MEETING, to=S.MEETING)
            _record(deal, Verb.DEAL_OPENED, actor=actor, to=first)
    except IntegrityError:
        raise DealError(f"{lead} already has an open deal.") from None
    except TransitionRefused as refused:  # the lead moved on since the page was read
        raise DealError(str(refused)) from None
    return deal


def deal_move(*, deal: Deal, stage: DealStage, actor, reason: str = "", now: dt.datetime | None = None) -> Deal:
    """Move a deal to `stage` from the stage it was read at; closes it (and the lead) at won or lost."""
    if deal.is_closed:
        raise DealError(f"This deal was closed at “{deal.stage}”: open a new one instead.")
    if stage.pk == deal.stage_id:
        raise DealError(f"The deal is already at “{stage}”.")
    if not stage.is_active:
        raise DealError(f"“{stage}” takes no new deals.")
    reason = reason.strip()
    if stage.outcome == DealStage.Outcome.LOST and not reason:
        raise DealError("Say why the deal was lost: the reason is counted in the report.")
    now = now or clock.now()
    closing = stage.outcome != DealStage.Outcome.OPEN
    fields = {"stage": stage, "stage_changed_at": now, "updated_at": now}
    if closing:
        fields |= {"closed_at": now, "lost_reason": reason if stage.outcome == DealStage.Outcome.LOST else ""}
    before = deal.stage
    with transaction.atomic():
        moved = Deal.objects.filter(pk=deal.pk, stage_id=before.pk, closed_at__isnull=True).update(**fields)
        if not moved:
            raise DealError("Someone moved this deal meanwhile: reload to see where it is now.")
        for name, value in fields.items():
            setattr(deal, name, value)
        _record(deal, Verb.DEAL_STAGE_CHANGED, actor=actor, to=stage, before=before, reason=reason)
        if closing:
            won = stage.outcome == DealStage.Outcome.WON
            lead_mark_closed(lead=deal.lead, actor=actor, won=won, reason=reason)
    return deal


def deal_close_for_lead(*, lead: Lead, actor, won: bool, reason: str = "") -> bool:
    """Close the lead's open deal at the first active won (or lost) stage; False when it has none.

    DealError when the deal cannot close there (no such stage, lost without a reason, moved meanwhile).
    """
    deal = Deal.objects.select_related("stage").filter(lead=lead, closed_at__isnull=True).first()
    if deal is None:
        return False
    deal.lead = lead  # the caller's instance: the lifecycle sets its status
    outcome = DealStage.Outcome.WON if won else DealStage.Outcome.LOST
    stage = DealStage.objects.filter(is_active=True, outcome=outcome).first()
    if stage is None:
        raise DealError(f"There is no {outcome} deal stage: an admin adds one under Deal stages.")
    deal_move(deal=deal, stage=stage, actor=actor, reason=reason)
    return True


def deal_update(*, deal: Deal, actor, **changes) -> Deal:
    """Change a deal's value, currency, expected close or next step; the timeline says what changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    if "currency" in changes:
        changes["currency"] = _currency(changes["currency"])
    if "value" in changes:
        changes["value"] = Decimal(changes["value"]).quantize(CENT)
    changed = {name: value for name, value in changes.items() if getattr(deal, name) != value}
    if not changed:
        return deal
    for name, value in changed.items():
        setattr(deal, name, value)
    with transaction.atomic():
        deal.save(update_fields=[*changed, "updated_at"])
        activity_record(
            verb=Verb.DEAL_UPDATED, lead=deal.lead, campaign=deal.campaign, actor=actor, deal=deal.pk,
            changed={name: str(value) if value is not None else "" for name, value in changed.items()},
        )  # fmt: skip
    return deal


def _record(deal: Deal, verb: str, *, actor, to: DealStage, before: DealStage | None = None, reason: str = "") -> None:
    from hooks.events import deal_stage_changed

    activity_record(
        verb=verb, lead=deal.lead, campaign=deal.campaign, actor=actor, deal=deal.pk,
        **{"from": before.name if before else "", "to": to.name, "outcome": to.outcome, "reason": reason},
        value=str(deal.value), currency=deal.currency,
    )  # fmt: skip
    deal_stage_changed(deal=deal, before=before, after=to)
