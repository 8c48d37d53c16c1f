"""Reads on leads, scoped to what the user may see."""

import datetime as dt
from dataclasses import dataclass
from functools import reduce
from itertools import chain
from operator import or_

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import Campaign
from leads.models import RANKED_SCORE, Activity, Enrolment, ImportJob, Lead, Task
from outreach.models import InboundMessage, OutreachMessage
from salesdept.keyset import Keyset, KeysetPage, keyset_page
from salesdept.roles import is_manager

PAGE_SIZE = 50
CURSOR_SALT = "leads.list.cursor"
NO_OWNER = "none"


def in_campaign(campaign_id: int, path: str = "") -> Q:
    """Leads in a campaign: its home leads and the people enrolled in it from elsewhere.

    Home leads count even without an Enrolment row (a lead stored before enrolments, or by a
    path that sets only `campaign`): the two together are the campaign's people.
    """
    enrolled = Enrolment.objects.filter(campaign_id=campaign_id).values("lead_id")
    return Q(**{f"{path}campaign_id": campaign_id}) | Q(**{f"{path}pk__in": enrolled})


def _aware_datetime(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a cursor time must carry its zone")
    return moment


def _score(value: int) -> int:
    if type(value) is not int or not -1 <= value <= 100:
        raise ValueError("a cursor score is a whole number from -1 to 100")
    return value


SORTS = {
    "newest": Keyset(name="newest", field="created_at", dump=dt.datetime.isoformat, load=_aware_datetime),
    "score": Keyset(name="score", field="ranked_score", dump=int, load=_score),
}


def leads_visible_to(user) -> QuerySet[Lead]:
    leads = Lead.objects.all()
    return leads if is_manager(user) else leads.filter(owner=user)


SEARCHED_FIELDS = ("first_name", "last_name", "company__name", "email", "position")


def _matching(leads: QuerySet[Lead], search: str) -> QuerySet[Lead]:
    """Every word of the search in some field: "Jonas Tanaka", "Tanaka Jonas" and "tanaka acme" all find Jonas.

    Word by word rather than a concatenated full name, so the same query runs on SQLite and
    PostgreSQL and the order of the words does not matter.
    """
    for word in search.split():
        leads = leads.filter(reduce(or_, (Q(**{f"{field}__icontains": word}) for field in SEARCHED_FIELDS)))
    return leads


def lead_list_for(
    user,
    *,
    search: str = "",
    status: str = "",
    campaign_id: int | None = None,
    label: str = "",
    owner: int | str | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
    needs_review: bool = False,
) -> QuerySet[Lead]:
    """The user's leads, filtered; `owner` (a user id, or NO_OWNER) narrows a manager's view only."""
    leads = leads_visible_to(user).select_related("company", "campaign", "owner").annotate(ranked_score=RANKED_SCORE)
    if search:
        leads = _matching(leads, search)
    if status:
        leads = leads.filter(status=status)
    if campaign_id:
        leads = leads.filter(in_campaign(campaign_id))  # its own leads and the people who joined it
    if label:
        leads = leads.filter(label__iexact=label)
    if owner == NO_OWNER:
        leads = leads.filter(owner__isnull=True)
    elif owner:
        leads = leads.filter(owner_id=owner)
    if min_score is not None:
        leads = leads.filter(ranked_score__gte=min_score)
    if max_score is not None:
        leads = leads.filter(ranked_score__gte=0, ranked_score__lte=max_score)
    if needs_review:
        leads = leads.filter(needs_review=True)
    return leads.order_by("-created_at", "-pk")


def lead_page(leads: QuerySet[Lead], *, sort: str = "newest", after: str = "", size: int = PAGE_SIZE) -> KeysetPage:
    """One page of `leads` (from lead_list_for) in `sort` order, after the position `after` names."""
    return keyset_page(leads, keyset=SORTS.get(sort, SORTS["newest"]), after=after, size=size, salt=CURSOR_SALT)


def lead_sorted(leads: QuerySet[Lead], *, sort: str = "newest") -> QuerySet[Lead]:
    """Every lead of `leads` in the order lead_page shows them, for an export of the whole list."""
    keyset = SORTS.get(sort, SORTS["newest"])
    return leads.order_by(f"-{keyset.field}", "-pk")


def lead_filter_campaigns(user) -> QuerySet[Campaign]:
    """The campaigns worth filtering by: all for managers, the campaigns of their own leads for reps."""
    campaigns = Campaign.objects.order_by("name")
    if is_manager(user):
        return campaigns
    own = Lead.objects.filter(owner=user).values("campaign_id")
    return campaigns.filter(Q(pk__in=own) | Q(pk__in=Enrolment.objects.filter(lead__owner=user).values("campaign_id")))


def lead_get_for_user(user, pk: int) -> Lead:
    return get_object_or_404(leads_visible_to(user).select_related("company", "campaign", "owner"), pk=pk)


def lead_timeline(lead: Lead) -> QuerySet[Activity]:
    return lead.activities.select_related("actor", "message").order_by("-created_at", "-pk")


def lead_snooze_origin(lead: Lead) -> Activity | None:
    """The row that set the lead's snooze date: a reply read (with the words read) or a rep's hand."""
    if lead.status != Lead.Status.SNOOZED:
        return None
    return (
        lead.activities.filter(verb__in=("lead.snoozed", "lead.away"))
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class ConversationEntry:
    at: dt.datetime
    outbound: OutreachMessage | None = None
    inbound: InboundMessage | None = None


def lead_conversation(lead: Lead) -> list[ConversationEntry]:
    """Every message to the lead and every reply, oldest first, like a chat thread.

    A message sits at the time it was sent, or, not sent yet, at the time it was drafted.
    """
    outbound = lead.messages.select_related("campaign", "decided_by").order_by("created_at", "pk")
    inbound = lead.inbound_messages.order_by("received_at", "pk")
    entries = chain(
        (ConversationEntry(at=message.sent_at or message.created_at, outbound=message) for message in outbound),
        (ConversationEntry(at=reply.received_at, inbound=reply) for reply in inbound),
    )
    return sorted(entries, key=lambda entry: entry.at)


# A rep's tasks


def tasks_visible_to(user) -> QuerySet[Task]:
    """A manager sees every task; a rep the tasks they own and those on their leads."""
    tasks = Task.objects.select_related("lead__company", "owner", "message")
    return tasks if is_manager(user) else tasks.filter(Q(owner=user) | Q(lead__owner=user))


def task_get_for_user(user, pk: int) -> Task:
    return get_object_or_404(tasks_visible_to(user), pk=pk)


def tasks_open_for(user, *, owner: int | None = None) -> QuerySet[Task]:
    """The user's open tasks, soonest due first; `owner` narrows a manager's view only."""
    tasks = tasks_visible_to(user).filter(status=Task.Status.OPEN)
    if owner and is_manager(user):
        tasks = tasks.filter(owner_id=owner)
    return tasks.order_by("due_on", "pk")


def lead_tasks(lead: Lead) -> QuerySet[Task]:
    """The lead's tasks: open ones first, soonest due first, then the closed ones, latest first."""
    return lead.tasks.select_related("owner", "message").order_by("-status", "due_on", "pk")


# CSV imports


def imports_visible_to(user) -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.select_related("campaign", "created_by").defer("data", "error_report")
    return jobs if is_manager(user) else jobs.filter(created_by=user)


def import_get_for_user(user, pk: int) -> ImportJob:
    """The job, 404 unless the user created it or is a manager (the file is read only when used)."""
    return get_object_or_404(imports_visible_to(user), pk=pk)


def import_campaigns() -> QuerySet[Campaign]:
    """Campaigns a file can be imported into."""
    return Campaign.objects.filter(status__in=[Campaign.Status.ACTIVE, Campaign.Status.DRAFT]).order_by("name")
