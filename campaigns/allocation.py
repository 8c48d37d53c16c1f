"""Allocation: which rep works which qualified lead.

Each day, an active campaign's best qualified leads go to the reps whose accounts send for it:
- best first: the ranked score (a rep's own score wins), then the oldest;
- within capacity: a rep takes no more new leads than their accounts in the campaign can
  contact today (the first step's daily cap, after warm-up), less the leads they were given
  and have not contacted yet (no draft yet, or a first touch waiting for approval or sending);
- fairly: each lead goes to the rep with the least open first touches, then the fewest given
  in this run;
- one rep per company: a company someone is working (a lead of theirs there is in play, or was
  contacted within the contact window) stays theirs. If they are not on this campaign, or
  have no room today, its leads wait rather than go to a second rep.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from campaigns.kinds import kind_rules
from campaigns.models import Campaign
from leads.lifecycle import WORKED
from leads.models import RANKED_SCORE, Enrolment, Lead
from leads.services import activity_record
from salesdept import clock

# A lead in one of these statuses is being worked by its owner.
IN_PLAY = WORKED
OPEN_FIRST_TOUCH = ("generating", "pending_approval", "approved", "sending")
# People enrolled from other campaigns looked at per run: the rest start on the next run.
JOINED_PER_RUN = 500


@dataclass
class Seat:
    """One rep's room in this run."""

    rep_id: int
    capacity: int  # new first touches their accounts can send today
    open: int  # first touches already waiting
    given: int = 0

    @property
    def room(self) -> int:
        return self.capacity - self.open - self.given


def _seats(campaign: Campaign, now: dt.datetime) -> dict[int, Seat]:
    from outreach.limits import daily_cap
    from outreach.models import SendingAccount

    first = campaign.steps.order_by("order").first()
    if first is None:
        return {}
    accounts = campaign.sending_accounts.filter(
        is_active=True, health=SendingAccount.Health.OK, channel__in=SendingAccount.channels_for(first.kind)
    )
    capacity: dict[int, int] = {}
    for account in accounts:
        day = now.astimezone(account.tz).date()
        capacity[account.owner_id] = capacity.get(account.owner_id, 0) + daily_cap(
            account, kind_rules(first.kind).counter, day
        )
    # Given and not yet contacted: no draft yet (drafting runs after allocation commits), or a
    # first touch waiting to be approved or sent.
    waiting = (
        Lead.objects.filter(owner_id__in=capacity, status=Lead.Status.QUALIFIED)
        .filter(Q(messages__isnull=True) | Q(messages__step=1, messages__status__in=OPEN_FIRST_TOUCH))
        .values("owner_id")
        .annotate(n=Count("pk", distinct=True))
    )
    open_by_rep = {row["owner_id"]: row["n"] for row in waiting}
    return {rep: Seat(rep_id=rep, capacity=cap, open=open_by_rep.get(rep, 0)) for rep, cap in capacity.items()}


def _company_owners(company_ids: set[int], now: dt.datetime) -> dict[int, int]:
    """Company → the rep working it: a lead of theirs there in play, or contacted in the window."""
    recent = now - dt.timedelta(days=settings.CONTACT_WINDOW_DAYS)
    worked = Lead.objects.filter(company_id__in=company_ids, owner__isnull=False).filter(
        Q(status__in=IN_PLAY) | Q(messages__status="sent", messages__sent_at__gte=recent)
    )
    # The most recently active owner wins (later pairs overwrite earlier ones).
    return dict(worked.order_by("company_id", "updated_at").values_list("company_id", "owner_id"))


@transaction.atomic
def campaign_allocate(*, campaign_id: int) -> list[int]:
    """Give the best qualified, unowned leads to the campaign's reps; returns the ids given.

    Each lead given gets its first draft once this commits.
    """
    from outreach.services import messages_draft_enqueue

    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)  # one allocation per campaign at a time
    if campaign.status != Campaign.Status.ACTIVE:
        return []
    now = clock.now()
    seats = _seats(campaign, now)
    room = sum(max(seat.room, 0) for seat in seats.values())
    if not room:
        return []
    joined = _enrolled_owned(campaign, seats)
    candidates = list(
        Lead.objects.filter(
            Q(campaign=campaign) | Q(pk__in=list(joined)), status=Lead.Status.QUALIFIED, owner__isnull=True
        )
        .order_by(RANKED_SCORE.desc(), "pk")
        .only("pk", "company_id", "campaign_id")[: room * 3]  # leads skipped for their company leave room
    )
    company_owner = _company_owners({lead.company_id for lead in candidates if lead.company_id}, now)
    given: list[int] = []
    for lead in candidates:
        owner_id = company_owner.get(lead.company_id)
        if owner_id is not None:
            seat = seats.get(owner_id)  # the company stays with its rep: none here, or no room today
        else:
            open_seats = [seat for seat in seats.values() if seat.room > 0]
            seat = min(open_seats, key=lambda s: (s.open + s.given, s.given, s.rep_id)) if open_seats else None
        if seat is None or seat.room <= 0:
            continue
        if Lead.objects.filter(pk=lead.pk, owner__isnull=True, status=Lead.Status.QUALIFIED).update(
            owner_id=seat.rep_id
        ):
            seat.given += 1
            if lead.company_id:
                company_owner[lead.company_id] = seat.rep_id
            activity_record(verb="lead.allocated", lead=lead, campaign=campaign, owner=seat.rep_id)
            given.append(lead.pk)
        if not any(seat.room > 0 for seat in seats.values()):
            break
    home = [pk for pk in given if pk not in joined]
    joined_given = [pk for pk in given if pk in joined] + _seat_joined(joined, seats)
    messages_draft_enqueue(lead_ids=home)
    messages_draft_enqueue(lead_ids=joined_given, campaign_id=campaign.pk)
    return home + joined_given


def _enrolled_owned(campaign: Campaign, seats: dict[int, Seat]) -> dict[int, int | None]:
    """People still to start this campaign's sequence though another campaign has them, by id →
    their owner (None: nobody's yet).

    Those enrolled here from another campaign, and this campaign's own leads that another
    campaign allocated and started first (this campaign's allocation will not give them again):
    a status the sequence may start from (qualified, or contacted elsewhere) and no message of
    this campaign yet.
    """
    from outreach.models import OutreachMessage

    started_here = OutreachMessage.objects.filter(lead=OuterRef("pk"), campaign=campaign)
    started_elsewhere = OutreachMessage.objects.filter(lead=OuterRef("pk")).exclude(campaign=campaign)
    joined = Enrolment.objects.filter(campaign=campaign, status=Enrolment.Status.ACTIVE).values("lead_id")
    rows = (
        Lead.objects.filter(status__in=(Lead.Status.QUALIFIED, Lead.Status.CONTACTED))
        .filter(
            (Q(pk__in=joined) & ~Q(campaign=campaign))
            | (Q(campaign=campaign, owner__isnull=False) & Exists(started_elsewhere))
        )
        .filter(~Exists(started_here))
        .order_by(RANKED_SCORE.desc(), "pk")
        .values_list("pk", "owner_id")
    )
    return dict(rows[:JOINED_PER_RUN])


def _seat_joined(joined: dict[int, int | None], seats: dict[int, Seat]) -> list[int]:
    """The people who joined from another campaign and already have a rep: they start this campaign's
    sequence with that rep (one rep per person), in that rep's room today; otherwise they wait."""
    started = []
    for lead_id, owner_id in joined.items():
        seat = seats.get(owner_id) if owner_id is not None else None
        if seat is not None and seat.room > 0:
            seat.given += 1
            started.append(lead_id)
    return started
