"""Reads on deals, scoped to what the user may see: a rep their own (their deal or their lead's), a manager all."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import Campaign
from deals.models import Deal, DealStage
from leads.models import Activity, Lead
from leads.verbs import Verb
from salesdept import clock
from salesdept.keyset import Keyset, KeysetPage, keyset_page
from salesdept.roles import is_manager

RECENTLY_CLOSED = dt.timedelta(days=30)  # the won and lost columns: what closed lately, not every deal ever
DEAL_VERBS = (Verb.DEAL_OPENED, Verb.DEAL_STAGE_CHANGED, Verb.DEAL_UPDATED)
CURSOR_SALT = "deals.list.cursor"
RELATED = ("lead", "lead__company", "owner", "stage", "campaign")


def deals_visible_to(user) -> QuerySet[Deal]:
    deals = Deal.objects.all()
    return deals if is_manager(user) else deals.filter(Q(owner=user) | Q(lead__owner=user))


def deal_get_for_user(user, pk: int) -> Deal:
    return get_object_or_404(deals_visible_to(user).select_related(*RELATED), pk=pk)


def deal_open_of(lead: Lead) -> Deal | None:
    """The lead's open deal (there is at most one), with its stage."""
    return Deal.objects.select_related("stage").filter(lead=lead, closed_at__isnull=True).first()


def deal_history(deal: Deal) -> QuerySet[Activity]:
    """The deal's own timeline entries, newest first: opened, each move, each change, with who."""
    return (
        Activity.objects.filter(lead_id=deal.lead_id, verb__in=DEAL_VERBS, payload__deal=deal.pk)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def deal_stages() -> list[DealStage]:
    """Every stage, open ones first, then won and lost, each group in the team's order."""
    return sorted(DealStage.objects.all(), key=lambda stage: (stage.is_closed, stage.position, stage.pk))


def deal_filter_campaigns(user) -> QuerySet[Campaign]:
    """The campaigns worth filtering the board by: those the user's visible deals came from."""
    return Campaign.objects.filter(pk__in=deals_visible_to(user).values("campaign_id")).order_by("name")


def next_stage_id(deal: Deal, stages: list[DealStage]) -> int | None:
    """The stage a move form offers first: the next active one on the way to won, not a step back."""
    order = [stage for stage in stages if stage.is_active]
    at = next((i for i, stage in enumerate(stages) if stage.pk == deal.stage_id), -1)
    ahead = [stage for stage in order if stages.index(stage) > at]
    return ahead[0].pk if ahead else None


@dataclass
class Column:
    stage: DealStage
    deals: list[Deal] = field(default_factory=list)

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """The column's value per currency, never one sum across currencies."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for deal in self.deals:
            sums[deal.currency] += deal.value
        return sorted(sums.items())


def deal_board(
    user, *, stages: list[DealStage], owner: int | None = None, campaign_id: int | None = None
) -> list[Column]:
    """The board: a column per active stage (and any inactive one still holding an open deal).

    `stages` as deal_stages() gives them. Won and lost columns show only what closed in the last 30 days.
    One query whatever the number of deals.
    """
    now = clock.now()
    deals = (
        deals_visible_to(user)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=now - RECENTLY_CLOSED))
        .select_related(*RELATED)
        .order_by("stage_changed_at", "pk")
    )
    if owner and is_manager(user):
        deals = deals.filter(owner_id=owner)
    if campaign_id:
        deals = deals.filter(campaign_id=campaign_id)
    columns = {stage.pk: Column(stage) for stage in stages}
    for deal in deals:
        deal.days_in_stage = max((now - deal.stage_changed_at).days, 0)
        deal.next_stage_id = next_stage_id(deal, stages)
        columns[deal.stage_id].deals.append(deal)
    return [column for column in columns.values() if column.stage.is_active or column.deals]


def _aware(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a cursor time must carry its zone")
    return moment


SORT = Keyset(name="opened", field="opened_at", dump=dt.datetime.isoformat, load=_aware)


def deal_list_for(
    user,
    *,
    stage: int | None = None,
    owner: int | None = None,
    campaign_id: int | None = None,
    is_open: bool | None = None,
) -> QuerySet[Deal]:
    """The user's deals, filtered; `owner` narrows a manager's view only (a rep sees their own anyway)."""
    deals = deals_visible_to(user).select_related(*RELATED)
    if stage:
        deals = deals.filter(stage_id=stage)
    if owner and is_manager(user):
        deals = deals.filter(owner_id=owner)
    if campaign_id:
        deals = deals.filter(campaign_id=campaign_id)
    if is_open is not None:
        deals = deals.filter(closed_at__isnull=is_open)
    return deals


def deal_page(deals: QuerySet[Deal], *, after: str = "", size: int = 50) -> KeysetPage:
    """Newest opened first, a page at a time by cursor."""
    return keyset_page(deals, keyset=SORT, after=after, size=size, salt=CURSOR_SALT)
