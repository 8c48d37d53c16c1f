"""One lead lifecycle: a lead's states, every move between them, and what each state stops.

Every change of `Lead.status` goes through `lead_transition` (or `leads_transition` for many
leads): a conditional UPDATE on the states the table allows the move from, and an Activity
row (from, to, what moved it, why) only when it won. tests/leads/test_lifecycle.py fails if
any other module writes the status another way, and if the tables below drift from `MOVES`
and `STATES` (they are rendered by `lifecycle_tables()`, as in README.md).

The rules the table keeps:
- do_not_contact is terminal: nothing moves a lead out of it; erasing keeps it there.
- An opt-out (a rep, an unsubscribe link, a "remove me" reply) reaches it from every state.
- A reply never moves a lead back: from interested, meeting, won or lost a reply is recorded
  and stops the sequence, but the status is the rep's from there on ("See you Tuesday!" to a
  booked meeting stays a meeting). Before that, a reply moves the lead forward, to replied and
  then to what its analysis read (interested, lost, not now, out of office).
- won and lost are final except for do_not_contact. A lost lead who writes again is recorded
  and the owner hears of it; taking them up again is a new enrolment in a campaign (the
  person/enrolment split), not a status rewound by a model's reading of one reply.
- Only qualified leads are contacted: qualification is the one way out of new, and a snoozed
  lead wakes to contacted if anything was sent to them, else to qualified. Before contact, a
  rep may run qualification again (either way between qualified and disqualified), and a
  rep's own score at the campaign's minimum brings a disqualified lead back.

Moves (the rows of `MOVES`):

| what moves it | to | from |
|---|---|---|
| qualification | qualified | new |
| qualification | disqualified | new |
| qualification run again | qualified | disqualified |
| qualification run again | disqualified | qualified |
| rep's score reaches the minimum | qualified | disqualified |
| first message sent | contacted | qualified |
| reply received | replied | new, qualified, disqualified, contacted, snoozed |
| reply analysed: interested | interested | new, qualified, disqualified, contacted, replied, snoozed |
| reply analysed: not interested | lost | new, qualified, disqualified, contacted, replied, snoozed |
| reply analysed: not now | snoozed | new, qualified, disqualified, contacted, replied, snoozed |
| reply analysed: out of office | snoozed | new, qualified, disqualified, contacted, replied, snoozed |
| rep books meeting | meeting | contacted, replied, interested, snoozed |
| rep snoozes | snoozed | qualified, contacted, snoozed |
| snooze wakes | contacted | snoozed |
| snooze wakes | qualified | snoozed |
| rep closes | won | interested, meeting |
| rep closes | lost | qualified, contacted, replied, interested, meeting, snoozed |
| rep drops from campaign | disqualified | qualified, contacted, snoozed |
| opt-out | do_not_contact | every state but do_not_contact |
| erase | do_not_contact | every state but do_not_contact |

What each state stops (the rows of `STATES`): "sequence" is drafting and sending the
campaign's steps (a snoozed lead's approved messages wait for the wake date); "answers" are
our answers to their replies; "worked" states keep their company with their rep (allocation).

| state | stops | worked |
|---|---|---|
| new | sequence, allocation, rescoring, email reveal |  |
| qualified |  | yes |
| disqualified | sequence, allocation, rescoring, email reveal |  |
| contacted | allocation | yes |
| replied | sequence, allocation | yes |
| interested | sequence, allocation | yes |
| meeting | sequence, allocation, rescoring | yes |
| won | sequence, allocation, rescoring, email reveal |  |
| lost | sequence, allocation, rescoring, email reveal |  |
| do_not_contact | sequence, answers, allocation, rescoring, email reveal |  |
| snoozed | sequence, allocation, email reveal | yes |
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Q

from leads.models import Activity, Enrolment, Lead
from leads.verbs import Verb
from salesdept import clock

S = Lead.Status


class Trigger(models.TextChoices):
    """What moves a lead: stored in the move's Activity payload as "trigger"."""

    QUALIFICATION = "qualification", "qualification"
    REQUALIFICATION = "requalification", "qualification run again"
    REP_SCORES = "rep_scores", "rep's score reaches the minimum"
    FIRST_SEND = "first_send", "first message sent"
    REPLY_RECEIVED = "reply_received", "reply received"
    REPLY_INTERESTED = "reply_interested", "reply analysed: interested"
    REPLY_NOT_INTERESTED = "reply_not_interested", "reply analysed: not interested"
    REPLY_NOT_NOW = "reply_not_now", "reply analysed: not now"
    REPLY_AWAY = "reply_away", "reply analysed: out of office"
    REP_BOOKS_MEETING = "rep_books_meeting", "rep books meeting"
    REP_SNOOZES = "rep_snoozes", "rep snoozes"
    SNOOZE_WAKES = "snooze_wakes", "snooze wakes"
    REP_CLOSES = "rep_closes", "rep closes"
    REP_DROPS = "rep_drops", "rep drops from campaign"
    OPT_OUT = "opt_out", "opt-out"
    ERASE = "erase", "erase"


class Stop(models.TextChoices):
    """What a state stops."""

    SEQUENCE = "sequence", "sequence"
    ANSWERS = "answers", "answers"
    ALLOCATION = "allocation", "allocation"
    RESCORING = "rescoring", "rescoring"
    EMAIL_REVEAL = "email_reveal", "email reveal"


@dataclass(frozen=True)
class State:
    status: str
    stops: frozenset[str]
    worked: bool  # an owner is working the lead: its company stays with them


@dataclass(frozen=True)
class Move:
    trigger: str
    to: str
    sources: frozenset[str]
    verb: str


_ALL = frozenset(S.values)
# Before a person owns the conversation: a reply may still move the lead forward from these.
_BEFORE_INTEREST = frozenset({S.NEW, S.QUALIFIED, S.DISQUALIFIED, S.CONTACTED, S.REPLIED, S.SNOOZED})
_CLOSED = {Stop.SEQUENCE, Stop.ALLOCATION, Stop.RESCORING, Stop.EMAIL_REVEAL}

STATES: dict[str, State] = {
    state.status: state
    for state in (
        State(S.NEW, frozenset(_CLOSED), worked=False),
        State(S.QUALIFIED, frozenset(), worked=True),
        State(S.DISQUALIFIED, frozenset(_CLOSED), worked=False),
        State(S.CONTACTED, frozenset({Stop.ALLOCATION}), worked=True),
        State(S.REPLIED, frozenset({Stop.SEQUENCE, Stop.ALLOCATION}), worked=True),
        State(S.INTERESTED, frozenset({Stop.SEQUENCE, Stop.ALLOCATION}), worked=True),
        State(S.MEETING, frozenset({Stop.SEQUENCE, Stop.ALLOCATION, Stop.RESCORING}), worked=True),
        State(S.WON, frozenset(_CLOSED), worked=False),
        State(S.LOST, frozenset(_CLOSED), worked=False),
        State(S.DO_NOT_CONTACT, frozenset(_CLOSED | {Stop.ANSWERS}), worked=False),
        State(S.SNOOZED, frozenset({Stop.SEQUENCE, Stop.ALLOCATION, Stop.EMAIL_REVEAL}), worked=True),
    )
}

MOVES: tuple[Move, ...] = (
    Move(Trigger.QUALIFICATION, S.QUALIFIED, frozenset({S.NEW}), Verb.LEAD_QUALIFIED),
    Move(Trigger.QUALIFICATION, S.DISQUALIFIED, frozenset({S.NEW}), Verb.LEAD_DISQUALIFIED),
    # A rep asks for qualification again (a new profile, a changed target): only before contact.
    Move(Trigger.REQUALIFICATION, S.QUALIFIED, frozenset({S.DISQUALIFIED}), Verb.LEAD_QUALIFIED),
    Move(Trigger.REQUALIFICATION, S.DISQUALIFIED, frozenset({S.QUALIFIED}), Verb.LEAD_DISQUALIFIED),
    # A rep's own score at the campaign's minimum brings a disqualified lead back, to be allocated.
    Move(Trigger.REP_SCORES, S.QUALIFIED, frozenset({S.DISQUALIFIED}), Verb.LEAD_QUALIFIED),
    Move(Trigger.FIRST_SEND, S.CONTACTED, frozenset({S.QUALIFIED}), Verb.LEAD_CONTACTED),
    Move(Trigger.REPLY_RECEIVED, S.REPLIED, _BEFORE_INTEREST - {S.REPLIED}, Verb.LEAD_REPLIED),
    Move(Trigger.REPLY_INTERESTED, S.INTERESTED, _BEFORE_INTEREST, Verb.LEAD_INTERESTED),
    Move(Trigger.REPLY_NOT_INTERESTED, S.LOST, _BEFORE_INTEREST, Verb.LEAD_LOST),
    # A later "not now" (or away message) from a snoozed lead sets the new date.
    Move(Trigger.REPLY_NOT_NOW, S.SNOOZED, _BEFORE_INTEREST, Verb.LEAD_SNOOZED),
    Move(Trigger.REPLY_AWAY, S.SNOOZED, _BEFORE_INTEREST, Verb.LEAD_SNOOZED),
    # A meeting comes from a conversation.
    Move(
        Trigger.REP_BOOKS_MEETING,
        S.MEETING,
        frozenset({S.CONTACTED, S.REPLIED, S.INTERESTED, S.SNOOZED}),
        Verb.LEAD_MEETING,
    ),
    # A rep snoozes a lead whose sequence is still running (from the approval queue); a new lead
    # is not snoozable, or it would wake as qualified without having been qualified.
    Move(Trigger.REP_SNOOZES, S.SNOOZED, frozenset({S.QUALIFIED, S.CONTACTED, S.SNOOZED}), Verb.LEAD_SNOOZED),
    Move(Trigger.SNOOZE_WAKES, S.CONTACTED, frozenset({S.SNOOZED}), Verb.LEAD_WOKEN),
    Move(Trigger.SNOOZE_WAKES, S.QUALIFIED, frozenset({S.SNOOZED}), Verb.LEAD_WOKEN),
    Move(Trigger.REP_CLOSES, S.WON, frozenset({S.INTERESTED, S.MEETING}), Verb.LEAD_WON),
    Move(
        Trigger.REP_CLOSES,
        S.LOST,
        frozenset({S.QUALIFIED, S.CONTACTED, S.REPLIED, S.INTERESTED, S.MEETING, S.SNOOZED}),
        Verb.LEAD_LOST,
    ),
    # A rep who rejects a draft may drop the lead instead of drafting again: not a fit after all.
    Move(Trigger.REP_DROPS, S.DISQUALIFIED, frozenset({S.QUALIFIED, S.CONTACTED, S.SNOOZED}), Verb.LEAD_DISQUALIFIED),
    Move(Trigger.OPT_OUT, S.DO_NOT_CONTACT, _ALL - {S.DO_NOT_CONTACT}, Verb.LEAD_DO_NOT_CONTACT),
    Move(Trigger.ERASE, S.DO_NOT_CONTACT, _ALL - {S.DO_NOT_CONTACT}, Verb.LEAD_DO_NOT_CONTACT),
)
_MOVE = {(move.trigger, move.to): move for move in MOVES}

# Where a reply's analysis moves the lead, by the status it points at (outreach.replies).
REPLY_TRIGGER = {
    S.INTERESTED: Trigger.REPLY_INTERESTED,
    S.LOST: Trigger.REPLY_NOT_INTERESTED,
    S.SNOOZED: Trigger.REPLY_NOT_NOW,
}


def stopping(stop: str) -> frozenset[str]:
    """The states that stop `stop` (e.g. stopping(Stop.SEQUENCE): no draft, no send of a step)."""
    return frozenset(status for status, state in STATES.items() if stop in state.stops)


def allowing(stop: str) -> frozenset[str]:
    """The states that do not stop `stop`."""
    return _ALL - stopping(stop)


# The sets the rest of the code asks; each is a column of the table above.
SEQUENCE_STOPPED = stopping(Stop.SEQUENCE)
ANSWERS_STOPPED = stopping(Stop.ANSWERS)
RESCORED = allowing(Stop.RESCORING)
EMAIL_REVEALABLE = allowing(Stop.EMAIL_REVEAL)
WORKED = frozenset(status for status, state in STATES.items() if state.worked)


def move_for(*, trigger: str, to: str) -> Move:
    """The table's row; a ValueError when `trigger` never moves a lead to `to` (a bug, not a race)."""
    try:
        return _MOVE[(trigger, to)]
    except KeyError:
        raise ValueError(f"{Trigger(trigger).label} never moves a lead to {to}") from None


def sources(*, trigger: str, to: str) -> frozenset[str]:
    """The states `trigger` may move a lead to `to` from."""
    return move_for(trigger=trigger, to=to).sources


def can_move(status: str, *, trigger: str, to: str) -> bool:
    return status in sources(trigger=trigger, to=to)


class TransitionRefused(Exception):
    """The lead is not in a state the move is allowed from; the text is for the person who tried."""

    def __init__(self, lead: Lead, *, trigger: str, to: str) -> None:
        self.status = lead.status
        super().__init__(refusal(lead, trigger=trigger, to=to))


def refusal(lead: Lead, *, trigger: str, to: str) -> str:
    """Why `trigger` does not move this lead (at its status as last read) to `to`, in words."""
    status = S(lead.status).label.lower()
    if lead.status == S.DO_NOT_CONTACT:
        return f"{lead} is do-not-contact: nothing changes that."
    if lead.status == to:
        return f"{lead}'s status is already “{status}”: nothing was changed."
    froms = [S(s).label.lower() for s in S.values if s in sources(trigger=trigger, to=to)]
    among = f"{', '.join(froms[:-1])} or {froms[-1]}" if len(froms) > 1 else froms[0]
    what = Trigger(trigger).label
    return f"{lead} is at “{status}”: {what} moves a lead to “{S(to).label.lower()}” only from {among}."


def _status_now(pk: int) -> str | None:
    return Lead.objects.filter(pk=pk).values_list("status", flat=True).first()


def lead_transition(
    *,
    lead: Lead,
    to: str,
    trigger: str,
    actor=None,
    reason: str = "",
    now: dt.datetime | None = None,
    guard: Q | None = None,
    payload: dict | None = None,
    strict: bool = False,
    **fields,
) -> bool:
    """Move one lead to `to` if the table allows it from the state it is in; True when it moved.

    A conditional UPDATE on the exact state the move starts from, so the Activity's "from" is
    true and of two concurrent moves one wins. `fields` are written with the status (e.g.
    snoozed_until); `guard` narrows the rows further (e.g. a wake date that has come). The
    loser gets False, or TransitionRefused with a readable reason when `strict`.
    """
    move = move_for(trigger=trigger, to=to)  # outside the transaction: a bug must not break the caller's
    # No savepoint: inside a caller's transaction a failure here fails the whole of it, as it should.
    with transaction.atomic(savepoint=False):
        moved = _lead_move(
            lead=lead,
            move=move,
            actor=actor,
            reason=reason,
            now=now or clock.now(),
            guard=guard,
            payload=payload or {},
            fields=fields,
        )
    if not moved and strict:
        raise TransitionRefused(lead, trigger=trigger, to=to)
    return moved


def _lead_move(
    *, lead: Lead, move: Move, actor, reason: str, now: dt.datetime, guard: Q | None, payload: dict, fields: dict
) -> bool:
    to = move.to
    rows = Lead.objects.filter(pk=lead.pk)
    if guard is not None:
        rows = rows.filter(guard)
    seen = lead.status
    # The caller's copy is usually current: one UPDATE. When it is stale, read once and retry.
    moved = seen in move.sources and rows.filter(status=seen).update(status=to, updated_at=now, **fields)
    if not moved:
        current = _status_now(lead.pk) or seen
        if current != seen and current in move.sources:
            seen = current
            moved = rows.filter(status=seen).update(status=to, updated_at=now, **fields)
    if not moved:
        lead.status = current
        return False
    from hooks.events import lead_status_changed
    from leads.enrolments import STOPS_ENROLMENTS, enrolments_stop
    from leads.services import activity_record  # services build on the lifecycle

    if to in STOPS_ENROLMENTS:  # a reply or an opt-out in one campaign stops the person's every sequence
        enrolments_stop(lead=lead, reason=f"{S(to).label}: {reason}" if reason else S(to).label, now=now)

    extra = {"until": fields["snoozed_until"].isoformat()} if fields.get("snoozed_until") else {}
    activity_record(
        verb=move.verb,
        lead=lead,
        actor=actor,
        **{"from": seen, "to": to, "trigger": str(move.trigger), "reason": reason, **extra, **payload},
    )
    lead_status_changed(lead_id=lead.pk, campaign_id=lead.campaign_id, old=seen, new=to, trigger=str(move.trigger))
    lead.status = to
    for name, value in fields.items():
        setattr(lead, name, value)
    return True


def leads_transition(
    *,
    lead_ids: Iterable[int],
    to: str,
    trigger: str,
    actor=None,
    reason: str = "",
    now: dt.datetime | None = None,
    guard: Q | None = None,
    **fields,
) -> list[int]:
    """Move many leads the same way; returns the ids that moved, each with its Activity row.

    A few statements whatever the number: the movable rows are locked and read, updated in one
    statement, and their timeline entries written in one insert.
    """
    move = move_for(trigger=trigger, to=to)
    with transaction.atomic(savepoint=False):
        return _leads_move(
            lead_ids=lead_ids, move=move, actor=actor, reason=reason, now=now or clock.now(), guard=guard, fields=fields
        )


def _leads_move(
    *, lead_ids: Iterable[int], move: Move, actor, reason: str, now: dt.datetime, guard: Q | None, fields: dict
) -> list[int]:
    from hooks.events import lead_status_changed
    from reporting.metrics import metrics_record

    to = move.to
    rows = Lead.objects.filter(pk__in=list(lead_ids), status__in=move.sources)
    if guard is not None:
        rows = rows.filter(guard)
    found = {
        pk: (status, campaign_id)
        for pk, status, campaign_id in rows.select_for_update().values_list("pk", "status", "campaign_id")
    }
    if not found:
        return []
    moved = rows.filter(pk__in=list(found)).update(status=to, updated_at=now, **fields)
    if moved != len(found):
        # Without row locks (SQLite) another writer took some of them between the read and the
        # update: the ones now in `to` moved here or there; either way they are in `to` now.
        found = {pk: found[pk] for pk in Lead.objects.filter(pk__in=found, status=to).values_list("pk", flat=True)}
    from leads.enrolments import STOPS_ENROLMENTS

    if to in STOPS_ENROLMENTS:  # as in _lead_move: every campaign's sequence stops for these people
        Enrolment.objects.filter(lead_id__in=list(found), status=Enrolment.Status.ACTIVE).update(
            status=Enrolment.Status.STOPPED, stopped_reason=(reason or S(to).label)[:300], stopped_at=now
        )
    extra = {"until": fields["snoozed_until"].isoformat()} if fields.get("snoozed_until") else {}
    activities = Activity.objects.bulk_create(
        Activity(
            lead_id=pk,
            campaign_id=campaign_id,
            actor=actor,
            verb=move.verb,
            payload={"from": status, "to": to, "trigger": str(move.trigger), "reason": reason, **extra},
        )
        for pk, (status, campaign_id) in found.items()
    )
    for activity in activities:
        metrics_record(activity)
        lead_status_changed(
            lead_id=activity.lead_id, campaign_id=activity.campaign_id, old=found[activity.lead_id][0], new=to,
            trigger=str(move.trigger),
        )  # fmt: skip
    return list(found)


def lifecycle_tables() -> str:
    """The moves and states tables, as in this module's docstring and README.md."""
    every_but_dnc = _ALL - {S.DO_NOT_CONTACT}
    lines = ["| what moves it | to | from |", "|---|---|---|"]
    for move in MOVES:
        froms = (
            "every state but do_not_contact"
            if move.sources == every_but_dnc
            else ", ".join(s for s in S.values if s in move.sources)
        )
        lines.append(f"| {Trigger(move.trigger).label} | {move.to} | {froms} |")
    lines += ["", "| state | stops | worked |", "|---|---|---|"]
    for status, state in STATES.items():
        stops = ", ".join(Stop(stop).label for stop in Stop.values if stop in state.stops)
        lines.append(f"| {status} | {stops} | {'yes' if state.worked else ''} |")
    return "\n".join(lines)
