"""Reads for the approval queue. Reps see the drafts of their own leads; managers see all.

The queue pages by keyset (the last item's sort key and id), so page 200 costs what page 1 does
and an item decided meanwhile neither repeats nor hides another.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.shortcuts import get_object_or_404

from leads.models import Lead, ranked_score
from library.models import Nurture
from outreach.models import InboundMessage, OutreachMessage
from outreach.selectors import messages_visible_to
from proposals.models import Proposal
from salesdept import clock
from salesdept.roles import is_manager

Status = OutreachMessage.Status
# What a queue item shows besides the message: read with it, in the same query.
ITEM_RELATED = ("lead__company", "lead__owner", "campaign", "account", "reply_to", "nurture__item", "proposal")
# What nearly every queue card shows besides the message, read in the same query. Every table joined
# costs the planner more than its rows cost to read: on the queue benchmark the page's statement
# spent longer planning the ten tables of ITEM_RELATED than running them. So the sending account
# (the card never shows it) is left out, and what few cards show (the reply answered, the nurture
# touch, the proposal) is read afterwards for those cards alone: see `with_card_extras`.
CARD_RELATED = ("lead__company", "lead__owner", "campaign")
# What a card shows of the rows joined to its message: only these are read. The rest is long or costly
# to build 25 times: a lead's raw profile from its source and the posts read for its activity (5 KB a
# lead with five posts), a company's website summary, a campaign's brief (a dozen JSON fields, each
# decoded again for every card). Reading them cost 16 ms against 13 for the queue benchmark's list.
CARD_SHOWS = {
    "lead": (
        *("first_name", "last_name", "position", "location", "company", "owner"),
        *("score", "score_override", "score_breakdown", "label", "needs_review", "insight", "classified_by"),
    ),
    "lead__company": ("name",),
    "lead__owner": ("first_name", "last_name", "email"),
    "campaign": ("name",),
}
# ...and of the message itself, what neither a card nor the API's list shows: the draft as first written.
MESSAGE_UNSHOWN = ("original_subject", "original_body")


def _unshown(path: str) -> tuple[str, ...]:
    """The fields of the row at `path` (from a message) that its cards do not show, to defer."""
    model = OutreachMessage
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model
    shown = CARD_SHOWS[path]
    return tuple(
        f"{path}__{field.name}"
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in shown
    )


CARD_UNSHOWN = {path: _unshown(path) for path in CARD_SHOWS}
# A hand-set score wins over the rule score; unscored leads sort after every scored one.
EFFECTIVE_SCORE = ranked_score("lead__")


# What "waiting in the queue" means, the one rule behind every count of it (the queue's header,
# the navigation badge, the dashboard's backlog, the daily report, the backlog alert): a draft
# someone can decide now, not stopped by a guardrail (those wait for a rewrite), its lead not
# snoozed. An answer to a reply waits even for a snoozed lead: the prospect is waiting for it.
def _waiting_rule(snoozed: Q) -> Q:
    return Q(status=Status.PENDING_APPROVAL, blocked=False) & ~(snoozed & Q(reply_to__isnull=True))


# The rule as a join, for the listing: walking leads in score order finds a page in a few hundred rows.
WAITING = _waiting_rule(Q(lead__status=Lead.Status.SNOOZED))
# The same rule for counting: the few snoozed ids are hashed once, so counting 10,000 waiting drafts
# reads no lead row (the join read every one of them: 9 ms against 34 ms on the queue benchmark).
# On PostgreSQL the count reads indexes alone: the waiting drafts' (outreach's message_waiting_idx
# holds what the rule asks) and, for a rep, their leads' ids (leads' lead_owner_idx).
COUNTED_WAITING = _waiting_rule(Q(lead__in=Lead.objects.filter(status=Lead.Status.SNOOZED).values("pk")))


def drafts_waiting() -> QuerySet[OutreachMessage]:
    """Everyone's drafts waiting in the queue, to count or age them: what it shows a manager."""
    return OutreachMessage.objects.filter(COUNTED_WAITING)


def _waiting(user, rule: Q = WAITING) -> QuerySet[OutreachMessage]:
    """The drafts waiting in this person's queue: a rep's own leads', everyone's for a manager."""
    return messages_visible_to(user).filter(rule)


def _filtered(queue: QuerySet[OutreachMessage], filters: dict, *, now: dt.datetime) -> QuerySet[OutreachMessage]:
    if campaign := filters.get("campaign"):
        queue = queue.filter(campaign=campaign)
    if rep := filters.get("rep"):
        queue = queue.filter(lead__owner=rep)
    if label := filters.get("label"):
        queue = queue.filter(lead__label=label)
    if kind := filters.get("kind"):
        queue = queue.filter(kind=kind)
    if (origin := filters.get("origin")) == "nurture":
        queue = queue.filter(nurture__isnull=False)
    elif origin == "other":
        queue = queue.filter(nurture__isnull=True)
    if (findings := filters.get("findings")) == "some":
        queue = queue.exclude(guardrail_findings=[])
    elif findings == "none":
        queue = queue.filter(guardrail_findings=[])
    if age := filters.get("age"):
        queue = queue.filter(created_at__lte=now - dt.timedelta(days=int(age)))
    if (score_min := filters.get("score_min")) is not None:
        queue = queue.filter(effective_score__gte=score_min)
    if (score_max := filters.get("score_max")) is not None:
        queue = queue.filter(effective_score__lte=score_max)
    return queue


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort key of its last item. Anything unparsable means the first page."""

    score: int
    pk: int

    def __str__(self) -> str:
        return f"{self.score}.{self.pk}"

    @classmethod
    def parse(cls, raw: str | None) -> "Cursor | None":
        score, _, pk = (raw or "").partition(".")
        try:
            return cls(int(score), int(pk))
        except ValueError:
            return None


ORDERS = {
    "score": (F("effective_score").desc(), "pk"),
    "oldest": ("pk",),
    "newest": ("-pk",),
}


def _after(queue: QuerySet[OutreachMessage], cursor: Cursor, sort: str) -> QuerySet[OutreachMessage]:
    if sort == "oldest":
        return queue.filter(pk__gt=cursor.pk)
    if sort == "newest":
        return queue.filter(pk__lt=cursor.pk)
    # The first condition says nothing new; it lets the database start the walk at the cursor's score
    # (the ranked-score indexes) rather than read every lead ranked above it (page 41: 16,000 buffers).
    return queue.filter(effective_score__lte=cursor.score).filter(
        Q(effective_score__lt=cursor.score) | Q(effective_score=cursor.score, pk__gt=cursor.pk)
    )


def _conversation() -> list[Prefetch]:
    """What the prospect has already received and said: two queries for the whole page."""
    return [
        Prefetch(
            "lead__messages",
            queryset=OutreachMessage.objects.filter(status=Status.SENT)
            .defer(*MESSAGE_UNSHOWN)
            .order_by("sent_at", "pk"),
            to_attr="sent_messages",
        ),
        Prefetch("lead__inbound_messages", queryset=InboundMessage.objects.order_by("received_at"), to_attr="replies"),
    ]


def _ordered(user, filters: dict | None, sort: str, after: Cursor | None, now: dt.datetime | None):
    queue = _waiting(user).annotate(effective_score=EFFECTIVE_SCORE)
    queue = _filtered(queue, filters or {}, now=now or clock.now())
    if after is not None:
        queue = _after(queue, after, sort)
    return queue.order_by(*ORDERS[sort])


def queue_for(
    user,
    *,
    filters: dict | None = None,
    sort: str = "score",
    after: Cursor | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[OutreachMessage]:
    """The drafts waiting for this user, filtered and in order, from `after` on."""
    sort = sort if sort in ORDERS else "score"
    return _for_cards(_ordered(user, filters, sort, after, now), user).prefetch_related(*_conversation())


def queue_page_for(
    user,
    *,
    size: int,
    filters: dict | None = None,
    sort: str = "score",
    after: Cursor | None = None,
) -> tuple[list[OutreachMessage], bool]:
    """The next `size` drafts of this user's queue (queue_for), read with what their cards show, and
    whether more follow.

    The page's ids first, then their rows: walking the leads in rank order to find the page, one
    statement read the whole row of every lead it passed (1,901 of them for 26 drafts on the queue
    benchmark, 4.4 ms); the walk alone reads indexes (lead_ranked_score holds what the rule and the
    order ask of a lead, message_waiting_idx what they ask of a draft): 0.6 ms, and 26 rows by id after.
    A draft decided between the two statements is left out of the page.
    """
    sort = sort if sort in ORDERS else "score"
    ids = list(_ordered(user, filters, sort, after, None).values_list("pk", flat=True)[: size + 1])
    page = ids[:size]
    if not page:
        return [], False
    rows = queue_for(user).filter(pk__in=page)  # still waiting, still this user's: the filters chose the ids
    position = {pk: i for i, pk in enumerate(page)}
    rows = sorted(rows, key=lambda message: position[message.pk])
    return rows, len(ids) > size and bool(rows)  # (the next page starts after the last row read)


def _for_cards(queue: QuerySet[OutreachMessage], user) -> QuerySet[OutreachMessage]:
    """Joins what every card shows, and marks the cards that have a nurture touch or a proposal.

    A rep's queue holds only their own leads, whose owner the card never names: one join fewer.
    """
    related = CARD_RELATED if is_manager(user) else tuple(name for name in CARD_RELATED if name != "lead__owner")
    unshown = (name for path in CARD_SHOWS if path in related or path == "lead" for name in CARD_UNSHOWN[path])
    return (
        queue.select_related(*related)
        .defer(*MESSAGE_UNSHOWN, *unshown)
        .annotate(
            has_nurture=Exists(Nurture.objects.filter(message=OuterRef("pk"))),
            has_proposal=Exists(Proposal.objects.filter(message=OuterRef("pk"))),
        )
    )


def with_card_extras(items: list[OutreachMessage]) -> list[OutreachMessage]:
    """Reads what only some cards show, for those cards alone: no statement when none has any.

    The others are marked as having none, so that the card's `item.nurture` asks the database nothing.
    """
    prefetch_related_objects([item for item in items if item.reply_to_id], "reply_to")
    prefetch_related_objects([item for item in items if item.has_nurture], "nurture__item")
    prefetch_related_objects([item for item in items if item.has_proposal], "proposal")
    for item in items:
        if not item.has_nurture:
            OutreachMessage.nurture.related.set_cached_value(item, None)
        if not item.has_proposal:
            OutreachMessage.proposal.related.set_cached_value(item, None)
    return items


def queue_count_for(user, *, filters: dict | None = None, now: dt.datetime | None = None) -> int:
    queue = _waiting(user, COUNTED_WAITING)
    if filters and ({"score_min", "score_max"} & filters.keys()):
        queue = queue.annotate(effective_score=EFFECTIVE_SCORE)
    return _filtered(queue, filters or {}, now=now or clock.now()).count()


def cursor_of(message: OutreachMessage) -> Cursor:
    return Cursor(message.effective_score, message.pk)


def _blocked(user) -> QuerySet[OutreachMessage]:
    return (
        messages_visible_to(user)
        .filter(status=Status.PENDING_APPROVAL, blocked=True)
        .exclude(lead__status=Lead.Status.SNOOZED)
        .order_by("created_at", "pk")
    )


def blocked_for(user) -> QuerySet[OutreachMessage]:
    """Drafts a guardrail stopped: they wait for a regenerate, not for approval."""
    return _blocked(user).select_related(*ITEM_RELATED)


def blocked_cards_for(user, *, limit: int) -> list[OutreachMessage]:
    """The first stopped drafts, read with what their cards show. There are usually none, so a lean
    statement finds their ids first: planning the cards' join took 20 ms under load to find no row."""
    pks = list(_blocked(user).values_list("pk", flat=True)[:limit])
    if not pks:
        return []
    return with_card_extras(list(_for_cards(_blocked(user).filter(pk__in=pks), user)))


def approved_waiting_for(user) -> QuerySet[OutreachMessage]:
    """What this user approved that has not started sending: it can still be undone."""
    return (
        OutreachMessage.objects.filter(status=Status.APPROVED, decided_by=user)
        .select_related("lead")
        .defer(*MESSAGE_UNSHOWN, *CARD_UNSHOWN["lead"])
        .order_by("-decided_at", "-pk")
    )


def bulk_undoable(user, pks: list[int]) -> list[int]:
    """Of a bulk approval's drafts, those this user can still undo: approved by them, not sending yet."""
    if not pks:
        return []
    return list(approved_waiting_for(user).filter(pk__in=pks).values_list("pk", flat=True))


def pending_count_for(user) -> int:
    return _waiting(user, COUNTED_WAITING).count()


def message_get_for_user(user, pk: int) -> OutreachMessage:
    """404 for a message the user may not see: another rep's work does not exist for them."""
    return get_object_or_404(
        messages_visible_to(user).select_related(*ITEM_RELATED, "decided_by").prefetch_related(*_conversation()),
        pk=pk,
    )


def messages_for_bulk(user, pks) -> list[OutreachMessage]:
    return list(
        messages_visible_to(user)
        .filter(pk__in=pks)
        .select_related("lead__company", "campaign", "account")
        .order_by("pk")
    )
