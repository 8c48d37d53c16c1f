"""A person's rights over what we hold (GDPR Art. 15 and 17), and how long we hold it.

Erasure anonymises the lead instead of deleting it: its row, its messages' and replies' rows and
its timeline stay, emptied of anything personal, so the dashboard's counts stay as they are and
`manage.py rebuild_metrics` still finds the same people at the same stages. What identifies the
person goes: names, addresses, profile, texts, and provider events that mention them. Their email
and LinkedIn URL stay on the suppression list as hashes, so they are never found or contacted again.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from leads.dedupe import normalise_email, normalise_linkedin_url
from leads.lifecycle import Trigger, lead_transition
from leads.models import Activity, ImportJob, Lead, Suppression
from leads.services import activity_record
from leads.suppression import suppression_add, suppression_hash
from outreach.models import InboundMessage, OutreachMessage, WebhookEvent
from salesdept import clock
from salesdept.db import ANALYZE_AFTER_ROWS, analyze
from salesdept.models import LLMCall, Notification

EXPORT_FORMAT = "salesdept-person-export/1"
ERASED_FIRST_NAME, ERASED_LAST_NAME = "Erased", "person"
# Timeline payload keys that say what happened, never who to: kept on an erased lead's activities.
# "from", "to" and "trigger" are a status move (leads.lifecycle): the status history is kept.
SAFE_PAYLOAD_KEYS = {
    *("score", "previous", "label", "confidence", "intent", "status", "kind", "step", "by_template"),
    *("from", "to", "trigger"),
}
# Lead fields the export leaves out: a secret (the unsubscribe link's token) and relations shown apart.
NOT_EXPORTED = {"id", "unsubscribe_token", "company", "campaign", "owner"}
PURGE_BATCH = 2000
# Messages whose text nobody will act on again: kept as rows (the counts), emptied of text.
FINISHED = [
    OutreachMessage.Status.SENT,
    OutreachMessage.Status.CANCELLED,
    OutreachMessage.Status.REJECTED,
    OutreachMessage.Status.FAILED,
]


class ErasureRefused(ValueError):
    """The erasure request is incomplete: nothing was changed."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _fields(obj, names: list[str]) -> dict[str, Any]:
    return {name: _jsonable(getattr(obj, name)) for name in names}


def lead_export(*, lead: Lead) -> dict[str, Any]:
    """Everything we hold about the person, as one JSON-able dict (a few queries, whatever the history)."""
    lead = Lead.objects.select_related("company", "campaign").get(pk=lead.pk)
    person_fields = [f.attname for f in Lead._meta.concrete_fields if f.name not in NOT_EXPORTED]
    company = lead.company
    messages = lead.messages.select_related("account", "campaign").order_by("created_at", "pk")
    message_fields = ["id", "step", "kind", "status", "subject", "body", "original_subject", "original_body"]
    message_fields += ["generated_by", "reject_reason", "created_at", "decided_at", "sent_at", "accepted_at"]
    reply_fields = ["id", "in_reply_to_id", "received_at", "text", "sentiment", "intent", "confidence"]
    reply_fields += ["analysis", "snooze_until"]
    call_fields = ["id", "purpose", "model", "prompt_version", "outcome", "tokens_in", "tokens_out", "cost_usd"]
    call_fields += ["created_at"]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": clock.now().isoformat(),
        "person": _fields(lead, ["id", *person_fields]),
        "company": _fields(company, ["name", "domain", "industry", "employees", "location", "website", "summary"])
        if company
        else None,
        "campaign": {"id": lead.campaign_id, "name": lead.campaign.name} if lead.campaign else None,
        "messages": [
            {
                **_fields(message, message_fields),
                "campaign": message.campaign.name,
                "channel": message.account.channel if message.account else None,
            }
            for message in messages
        ],
        "replies": [_fields(reply, reply_fields) for reply in lead.inbound_messages.order_by("received_at", "pk")],
        "timeline": [
            _fields(activity, ["created_at", "verb", "message_id", "payload"])
            for activity in lead.activities.order_by("created_at", "pk")
        ],
        "suppression": _suppression_status(lead),
        "llm_calls": [_fields(call, call_fields) for call in LLMCall.objects.filter(lead=lead).order_by("pk")],
    }


def _suppression_status(lead: Lead) -> dict[str, bool]:
    """Whether each of the person's own addresses is suppressed: their entries only, never a list."""
    keys = {}
    if lead.email:
        keys["email"] = suppression_hash(Suppression.Kind.EMAIL, lead.email)
        keys["email_domain"] = suppression_hash(Suppression.Kind.EMAIL_DOMAIN, lead.email)
    if lead.linkedin_url:
        keys["linkedin"] = suppression_hash(Suppression.Kind.LINKEDIN, lead.linkedin_url)
    found = set(
        Suppression.objects.filter(Q(kind__in=list(keys)) & Q(value_hash__in=list(keys.values()))).values_list(
            "kind", "value_hash"
        )
    )
    return {kind: (kind, value_hash) in found for kind, value_hash in keys.items()}


@transaction.atomic
def lead_export_record(*, lead: Lead, actor) -> dict[str, Any]:
    """The export, with who took it on the person's timeline (a download of personal data is audited)."""
    activity_record(verb="privacy.exported", lead=lead, actor=actor)
    return lead_export(lead=lead)


def _redacted(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = _replace_ci(text, secret, "[erased]")
    return text


def _replace_ci(text: str, old: str, new: str) -> str:
    lower, target, out, start = text.lower(), old.lower(), [], 0
    while (at := lower.find(target, start)) != -1:
        out += [text[start:at], new]
        start = at + len(old)
    return "".join(out) + text[start:]


@transaction.atomic
def lead_erase(*, lead: Lead, actor, reason: str) -> None:
    """Remove the person's data everywhere we hold it, keep them suppressed, and keep the counts."""
    from crm.services import crm_erase_request
    from hooks.services import deliveries_scrub_lead
    from leads.sheets import sheet_sync_request
    from outreach.services import messages_cancel_for_lead

    reason = (reason or "").strip()
    if not reason:
        raise ErasureRefused("Say why the person is erased (for example: asked by email on 3 May).")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    # The suppression entries come first: whatever happens below, they are never contacted again.
    if lead.email:
        suppression_add(kind=Suppression.Kind.EMAIL, value=lead.email, reason=Suppression.Reason.ERASURE)
    if lead.linkedin_url:
        suppression_add(kind=Suppression.Kind.LINKEDIN, value=lead.linkedin_url, reason=Suppression.Reason.ERASURE)
    messages_cancel_for_lead(lead=lead, reason="The person was erased")
    # Connected CRMs delete the person after this commits; who could not be reached is on the timeline.
    crm_erase_request(lead_id=lead.pk)

    identifiers = _identifiers(lead)
    _webhook_events_scrub(identifiers)
    deliveries_scrub_lead(lead_id=lead.pk)  # what our outbound webhooks said about them
    _imports_scrub([value for value in (lead.email, lead.linkedin_url) if value])
    _notifications_delete(lead)
    from proposals.services import proposals_erase_for_lead

    proposals_erase_for_lead(lead=lead)  # their needs in their words, and the PDFs that quote them
    lead.messages.update(
        subject="",
        body="",
        original_subject="",
        original_body="",
        instruction="",
        reject_reason="",
        last_error="",
        guardrail_findings=[],
        # The provider's thread and message ids: a later message in that thread must not find this lead.
        chat_id="",
        provider_message_id="",
    )
    lead.inbound_messages.update(text="", analysis={})
    lead.nurtures.update(news={})  # the profile news a nurturing touch congratulated on
    LLMCall.objects.filter(lead=lead).update(error="")
    activities = list(lead.activities.only("pk", "payload"))
    for activity in activities:
        activity.payload = {k: v for k, v in activity.payload.items() if k in SAFE_PAYLOAD_KEYS}
    Activity.objects.bulk_update(activities, ["payload"], batch_size=500)
    # Kept: campaign, owner, label and status history, which the counts and their rebuild group by.
    Lead.objects.filter(pk=lead.pk).update(
        first_name=ERASED_FIRST_NAME,
        last_name=ERASED_LAST_NAME,
        headline="",
        position="",
        seniority="",
        company=None,
        linkedin_url=None,
        provider_id="",
        email=None,
        name_key="",
        location="",
        timezone="",
        source_ref="",
        raw_profile={},
        activity=[],  # their posts and comments are their words
        score_breakdown=[],
        insight="",
        snoozed_until=None,
        updated_at=clock.now(),
    )
    # An erased lead is do-not-contact for good; one that already was stays so (no second entry).
    lead_transition(lead=lead, to=Lead.Status.DO_NOT_CONTACT, trigger=Trigger.ERASE, actor=actor)
    names = [lead.full_name, lead.first_name, lead.last_name, lead.email or "", lead.linkedin_url or ""]
    activity_record(verb="privacy.erased", actor=actor, lead_id=lead.pk, reason=_redacted(reason, names))
    if lead.campaign_id:  # the sheet's row is overwritten with the emptied lead
        sheet_sync_request(campaign=lead.campaign)


def _identifiers(lead: Lead) -> list[str]:
    """Values that tie a provider's event to this person (long enough not to match someone else)."""
    values = {lead.email or "", lead.linkedin_url or "", lead.provider_id}
    for chat_id, message_id in lead.messages.values_list("chat_id", "provider_message_id"):
        values |= {chat_id, message_id}
    for provider_id in lead.inbound_messages.values_list("provider_id", flat=True):
        values.add(provider_id.removeprefix("unipile:"))
    return sorted(value for value in values if len(value) >= 6)


def _webhook_events_scrub(identifiers: list[str]) -> int:
    if not identifiers:
        return 0
    mentions = Q()
    for value in identifiers:
        mentions |= Q(payload__icontains=value)
    # The event row and its key stay: a replay of it must still be recognised and ignored.
    return WebhookEvent.objects.filter(mentions).update(payload={})


def _imports_scrub(addresses: list[str]) -> None:
    """Remove the person's rows from the CSV files and error reports kept with past imports."""
    if not addresses:
        return
    needles = [address.lower() for address in addresses]
    finished = ImportJob.objects.exclude(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
    for pk in finished.values_list("pk", flat=True):  # one file in memory at a time: they can be large
        job = ImportJob.objects.only("pk", "data", "error_report").get(pk=pk)
        data = bytes(job.data)
        lines = data.split(b"\n")
        kept = [line for line in lines if not any(n.encode() in line.lower() for n in needles)]
        report = job.error_report.split("\n")
        kept_report = [line for line in report if not any(n in line.lower() for n in needles)]
        if len(kept) != len(lines) or len(kept_report) != len(report):
            ImportJob.objects.filter(pk=job.pk).update(data=b"\n".join(kept), error_report="\n".join(kept_report))


def _notifications_delete(lead: Lead) -> None:
    """The owner's notices about this person quote their name and words."""
    urls = [reverse("leads:detail", args=[lead.pk])]
    urls += [reverse("approvals:item", args=[pk]) for pk in lead.messages.values_list("pk", flat=True)]
    Notification.objects.filter(url__in=urls).delete()


def privacy_purge(*, now: dt.datetime) -> dict[str, int]:
    """Empty raw profiles and message texts past their retention; rows, statuses and times stay.

    Works in batches of PURGE_BATCH rows, two queries each, so a large backlog never holds one
    long transaction.
    """
    profile_cutoff = now - dt.timedelta(days=settings.RETENTION_RAW_PROFILE_DAYS)
    body_cutoff = now - dt.timedelta(days=settings.RETENTION_MESSAGE_BODY_DAYS)
    old_message = Q(sent_at__lt=body_cutoff) | Q(sent_at__isnull=True, updated_at__lt=body_cutoff)
    return {
        "raw_profiles": _purge(
            # What they posted lately is profile data too: it goes with the profile.
            Lead.objects.filter(updated_at__lt=profile_cutoff).exclude(raw_profile={}, activity=[]),
            raw_profile={},
            activity=[],
        ),
        "messages": _purge(
            OutreachMessage.objects.filter(old_message, status__in=FINISHED).exclude(
                subject="", body="", original_subject="", original_body=""
            ),
            subject="",
            body="",
            original_subject="",
            original_body="",
        ),
        "replies": _purge(
            InboundMessage.objects.filter(received_at__lt=body_cutoff).exclude(text="", analysis={}),
            text="",
            analysis={},
        ),
        "webhook_events": _purge(
            WebhookEvent.objects.filter(received_at__lt=body_cutoff, processed_at__isnull=False).exclude(payload={}),
            payload={},
        ),
    }


def _purge(rows, **blank) -> int:
    """UPDATE the rows in batches by primary key; returns how many were emptied."""
    done, after = 0, 0
    while ids := list(rows.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]):
        done += rows.model.objects.filter(pk__in=ids).update(**blank)
        after = ids[-1]
    if done >= ANALYZE_AFTER_ROWS:  # emptied columns change the table's statistics (widths, nulls)
        analyze(rows.model)
    return done


@transaction.atomic
def person_erase_by_address(*, email: str = "", linkedin_url: str = "", actor, reason: str) -> int | None:
    """An erasure request naming an address: the lead holding it is erased (its id returned, None
    when we hold nobody) and the address is suppressed either way, so we never take them later."""
    email, linkedin_url = normalise_email(email), normalise_linkedin_url(linkedin_url)
    if not (email or linkedin_url):
        raise ErasureRefused("Give the person's email address or LinkedIn URL.")
    if not (reason or "").strip():
        raise ErasureRefused("Say why the person is erased (for example: asked by email on 3 May).")
    match = (Q(email=email) if email else Q()) | (Q(linkedin_url=linkedin_url) if linkedin_url else Q())
    lead = Lead.objects.filter(match).order_by("pk").first()
    if email:
        suppression_add(kind=Suppression.Kind.EMAIL, value=email, reason=Suppression.Reason.ERASURE)
    if linkedin_url:
        suppression_add(kind=Suppression.Kind.LINKEDIN, value=linkedin_url, reason=Suppression.Reason.ERASURE)
    if lead is None:
        return None
    lead_erase(lead=lead, actor=actor, reason=reason)
    return lead.pk
