from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from campaigns.models import Campaign, CampaignRequest, SequenceStep
from leads.models import Enrolment, ImportJob, Lead, SearchRun, SheetSync
from outreach.models import OutreachMessage, SendingAccount
from salesdept.roles import is_manager

RECENT_RUNS = 10
RECENT_IMPORTS = 10
SHEET_BUSY = (SheetSync.Status.QUEUED, SheetSync.Status.RUNNING, SheetSync.Status.RETRYING)


# Qualified and waiting for allocation: no rep owns it yet (allocation gives an owner and
# leaves the status qualified until the first message goes out).
UNALLOCATED = Q(leads__status=Lead.Status.QUALIFIED, leads__owner__isnull=True)


def _joined_count() -> Coalesce:
    """People enrolled in the campaign from another one (their home campaign counts them already)."""
    joined = (
        Enrolment.objects.filter(campaign=OuterRef("pk"))
        .exclude(lead__campaign=OuterRef("pk"))
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(joined, output_field=IntegerField()), 0)


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns, newest first, each with its lead count (its own and the people who joined it)
    and its qualified leads no rep owns yet."""
    return (
        Campaign.objects.select_related("owner", "target")
        .annotate(
            lead_count=Count("leads", distinct=True) + _joined_count(),
            unallocated_count=Count("leads", filter=UNALLOCATED, distinct=True),
        )
        .order_by("-created_at")
    )


def campaign_get(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("owner", "target"), pk=pk)


def step_message_counts(*, campaign: Campaign) -> dict[int, int]:
    """Messages drafted for each step number: such a step keeps its number and cannot go."""
    rows = OutreachMessage.objects.filter(campaign=campaign).values("step").annotate(n=Count("pk")).order_by()
    return {row["step"]: row["n"] for row in rows}


def campaign_steps(*, campaign: Campaign) -> list[SequenceStep]:
    """The sequence in order, each step with `message_count`: the messages drafted for its number."""
    counts = step_message_counts(campaign=campaign)
    steps = list(SequenceStep.objects.filter(campaign=campaign).order_by("order"))
    for step in steps:
        step.message_count = counts.get(step.order, 0)
    return steps


def campaign_accounts(*, campaign: Campaign) -> QuerySet[SendingAccount]:
    return campaign.sending_accounts.select_related("owner").order_by("name")


def account_choices(*, campaign: Campaign | None = None) -> QuerySet[SendingAccount]:
    """Accounts a campaign may send from: the active ones, and those it already has."""
    accounts = Q(is_active=True)
    if campaign is not None and campaign.pk:
        accounts |= Q(campaigns=campaign)
    return SendingAccount.objects.filter(accounts).select_related("owner").distinct().order_by("name")


def campaign_search_runs(*, campaign: Campaign, limit: int = RECENT_RUNS) -> list[SearchRun]:
    return list(SearchRun.objects.filter(campaign=campaign).order_by("-started_at", "-pk")[:limit])


def campaign_imports(*, campaign: Campaign, limit: int = RECENT_IMPORTS) -> list[ImportJob]:
    # The file and its error report can be megabytes: the list needs neither.
    jobs = ImportJob.objects.filter(campaign=campaign).defer("data", "error_report", "headers", "mapping")
    return list(jobs.select_related("created_by").order_by("-created_at", "-pk")[:limit])


def campaign_sheet_sync(*, campaign: Campaign) -> SheetSync | None:
    return SheetSync.objects.filter(campaign=campaign).first()


def campaign_progress(*, campaign: Campaign) -> dict:
    """The campaign page's live region: recent searches, imports and the sheet's sync state."""
    runs = campaign_search_runs(campaign=campaign)
    imports = campaign_imports(campaign=campaign)
    sheet = campaign_sheet_sync(campaign=campaign)
    busy = (
        any(run.status == SearchRun.Status.RUNNING for run in runs)
        or any(job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) for job in imports)
        or (sheet is not None and sheet.status in SHEET_BUSY)
    )
    return {"runs": runs, "imports": imports, "sheet": sheet, "busy": busy}


def campaign_request_texts(*, campaign_ids) -> dict[int, list[str]]:
    """The rep's request text each campaign came from (internal: a message must never repeat it)."""
    texts: dict[int, list[str]] = {campaign_id: [] for campaign_id in campaign_ids}
    for campaign_id, text in CampaignRequest.objects.filter(campaign_id__in=texts).values_list("campaign_id", "text"):
        texts[campaign_id].append(text)
    return texts


def campaign_requests_for(user) -> QuerySet[CampaignRequest]:
    """Requests a person sees: managers see everyone's, a rep their own."""
    requests = CampaignRequest.objects.select_related("requested_by", "decided_by", "campaign")
    return requests if is_manager(user) else requests.filter(requested_by=user)


def campaign_request_get(user, pk: int) -> CampaignRequest:
    return get_object_or_404(campaign_requests_for(user), pk=pk)


def request_accounts() -> QuerySet[SendingAccount]:
    """The accounts a manager may choose to send a requested campaign from."""
    return SendingAccount.objects.filter(is_active=True).select_related("owner").order_by("owner__first_name", "name")
