"""Campaign requests: a rep asks in plain words, the LLM reads it as a proposal, a manager decides.

A request moves proposing → pending → approved | rejected, each step a conditional UPDATE, so
two managers deciding at once get one winner and a clear message for the other. Approval
creates the campaign (active, owned by the rep who asked) and starts its search.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from campaigns.models import Campaign, CampaignRequest, SequenceStep
from leads.services import activity_record
from salesdept import clock, llm
from salesdept.notifications import notify
from salesdept.people import display_name
from salesdept.ratelimit import rate_limit_take
from salesdept.roles import managers

Status = CampaignRequest.Status
TEXT_MIN, TEXT_MAX = 10, 1000
# A new campaign's first sequence, until the manager sets another on the campaign page.
DEFAULT_STEPS = [
    {"kind": SequenceStep.Kind.CONNECTION_NOTE, "delay_days": 0, "instruction": ""},
    {"kind": SequenceStep.Kind.MESSAGE, "delay_days": 3, "instruction": ""},
]
EMAIL_STEPS = [
    {"kind": SequenceStep.Kind.EMAIL, "delay_days": 0, "instruction": ""},
    {"kind": SequenceStep.Kind.EMAIL, "delay_days": 4, "instruction": "A short follow-up"},
]


class RequestError(Exception):
    """The request cannot move as asked; the message says why, in plain words."""


@transaction.atomic
def campaign_request_submit(*, actor, text: str) -> CampaignRequest:
    text = " ".join(text.split())
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise RequestError(f"Describe the campaign in {TEXT_MIN} to {TEXT_MAX} characters.")
    rate_limit_take(user=actor, action="campaign_request", error=RequestError)  # a model call, every manager emailed
    from campaigns.tasks import campaign_request_propose_task

    request = CampaignRequest.objects.create(requested_by=actor, text=text, status=Status.PROPOSING)
    activity_record(verb="campaign.requested", actor=actor, request=request.pk, text=text)
    campaign_request_propose_task.delay_on_commit(request.pk)
    return request


def campaign_request_propose(*, request_id: int) -> bool:
    """Read the request with the LLM (or the offline template) and put it before the managers."""
    request = CampaignRequest.objects.select_related("requested_by").get(pk=request_id)
    if request.status != Status.PROPOSING:
        return False
    result = llm.propose_campaign(text=request.text)
    with transaction.atomic():
        if not CampaignRequest.objects.filter(pk=request.pk, status=Status.PROPOSING).update(
            proposal=result.value.model_dump(mode="json"),
            proposed_by=result.generated_by,
            status=Status.PENDING,
        ):
            return False  # another worker read it first
        who = display_name(request.requested_by)
        for manager in managers():
            notify(
                user=manager,
                text=f"{who} asks for a campaign: “{request.text[:120]}”",
                url=reverse("approvals:requests"),
            )
    return True


def _claim(request: CampaignRequest, *, actor, status: str, **fields) -> None:
    if not CampaignRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
        status=status, decided_by=actor, decided_at=clock.now(), **fields
    ):
        request.refresh_from_db(fields=["status"])
        raise RequestError(f"This request is already {request.get_status_display().lower()}.")


@transaction.atomic
def campaign_request_approve(*, request: CampaignRequest, actor, proposal: dict, account_ids: list[int]) -> Campaign:
    """Create the campaign the manager settled on, and start looking for its leads.

    `proposal` is the manager's edit of the LLM's proposal (validated by the form): name, the
    target profile's lists, labels, size, and what prospects read: offer, event, call to action.
    The rep's request text stays internal: it is never the offer.
    """
    from campaigns.services import campaign_create, campaign_start_pipeline
    from outreach.models import SendingAccount

    _claim(request, actor=actor, status=Status.APPROVED, proposal=proposal)
    accounts = SendingAccount.objects.filter(pk__in=account_ids, is_active=True)
    email_only = accounts.exists() and all(account.channel == SendingAccount.Channel.EMAIL for account in accounts)
    size = proposal["size"]
    campaign = campaign_create(
        actor=actor,
        owner=request.requested_by,
        name=proposal["name"],
        target={name: proposal[name] for name in TARGET_FIELDS},
        labels=proposal["labels"],
        min_score=40,
        daily_lead_quota=min(size, 25),
        lead_goal=size,
        lead_sources=proposal.get("lead_sources") or [settings.LEAD_SOURCE_DEFAULT],
        offer=proposal.get("offer", ""),
        event=proposal.get("event", ""),
        call_to_action=proposal.get("call_to_action", ""),
        steps=EMAIL_STEPS if email_only else DEFAULT_STEPS,
        account_ids=[account.pk for account in accounts],
        status=Campaign.Status.ACTIVE,
    )
    CampaignRequest.objects.filter(pk=request.pk).update(campaign=campaign)
    request.status, request.campaign = Status.APPROVED, campaign
    activity_record(verb="campaign.request_approved", campaign=campaign, actor=actor, request=request.pk)
    campaign_start_pipeline(campaign=campaign, actor=actor)
    notify(
        user=request.requested_by,
        text=f"Your campaign request was approved: “{campaign.name}” is looking for leads.",
        url=reverse("approvals:requests"),
    )
    return campaign


TARGET_FIELDS = ("titles", "seniorities", "industries", "locations", "company_sizes", "keywords", "exclusions")


@transaction.atomic
def campaign_request_reject(*, request: CampaignRequest, actor, note: str) -> None:
    note = note.strip()
    if not note:
        raise RequestError("Say why, so the rep can ask again better.")
    _claim(request, actor=actor, status=Status.REJECTED, decision_note=note[:300])
    activity_record(verb="campaign.request_rejected", actor=actor, request=request.pk, note=note[:300])
    notify(
        user=request.requested_by,
        text=f"Your campaign request was not approved: {note[:200]}",
        url=reverse("approvals:requests"),
    )
