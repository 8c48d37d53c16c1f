"""Which happenings become webhook events, and what each event's data says.

Called from the one place each happens: every timeline entry passes through
`events_for_activity` (leads.services.activity_record), status moves through
`lead_status_changed` (leads.lifecycle), deal moves through `deal_stage_changed`
(deals.services), an import's end through `import_finished` (leads.imports). The data
carries ids and what a receiver needs to act, never a message's body or a reply's text.
"""

from hooks.models import Event
from leads.models import Activity, Lead

# Timeline verbs that are events of their own (status moves are announced by the lifecycle).
VERB_EVENT = {
    "lead.found": Event.LEAD_CREATED,
    "lead.referred": Event.LEAD_CREATED,
    "message.approved": Event.MESSAGE_APPROVED,
    "message.resend_approved": Event.MESSAGE_APPROVED,
    "message.sent": Event.MESSAGE_SENT,
    "message.fatal": Event.MESSAGE_FAILED,
    "message.given_up": Event.MESSAGE_FAILED,
    # The reply is announced once its intent is known: "reply.received" has only the text.
    "reply.analysed": Event.REPLY_RECEIVED,
}


def lead_data(lead: Lead) -> dict:
    return {
        "id": lead.pk,
        "campaign_id": lead.campaign_id,
        "owner_id": lead.owner_id,
        "status": lead.status,
        "source": lead.source,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "position": lead.position,
        "company": lead.company.name if lead.company_id else "",
        "linkedin_url": lead.linkedin_url or "",
        "email": lead.email or "",
    }


def _message_data(activity: Activity) -> dict:
    message = activity.message
    data = {
        "message_id": activity.message_id,
        "lead_id": activity.lead_id,
        "campaign_id": activity.campaign_id,
        "kind": message.kind if message is not None else "",
        "step": message.step if message is not None else None,
        "account_id": message.account_id if message is not None else None,
    }
    if activity.verb in ("message.fatal", "message.given_up"):
        data["reason"] = activity.verb.split(".", 1)[1]
    return data


def data_for(activity: Activity, event: str) -> dict:
    if event == Event.LEAD_CREATED:
        return lead_data(activity.lead)
    if event == Event.REPLY_RECEIVED:
        payload = activity.payload
        return {
            "reply_id": payload.get("inbound"),
            "lead_id": activity.lead_id,
            "campaign_id": activity.campaign_id,
            "intent": payload.get("intent", ""),
        }
    return _message_data(activity)


def events_for_activity(activity: Activity) -> None:
    """Emit the event this timeline entry is, if it is one."""
    from hooks.services import event_emit

    event = VERB_EVENT.get(activity.verb)
    if event is not None and activity.lead_id is not None:
        event_emit(event=event, data=lambda: data_for(activity, event))


def lead_status_changed(*, lead_id: int, campaign_id: int | None, old: str, new: str, trigger: str) -> None:
    from hooks.services import event_emit

    data = {"lead_id": lead_id, "campaign_id": campaign_id, "from": old, "to": new, "trigger": trigger}
    event_emit(event=Event.LEAD_STATUS_CHANGED, data=lambda: data)


def deal_stage_changed(*, deal, before, after) -> None:
    """A deal opened (no "from") or moved; its value, so a CRM or a sheet can follow the pipeline."""
    from hooks.services import event_emit

    data = {
        "deal_id": deal.pk,
        "lead_id": deal.lead_id,
        "campaign_id": deal.campaign_id,
        "owner_id": deal.owner_id,
        "from": before.name if before else "",
        "to": after.name,
        "outcome": after.outcome,
        "value": str(deal.value),
        "currency": deal.currency,
    }
    event_emit(event=Event.DEAL_STAGE_CHANGED, data=lambda: data)


def import_finished(*, job_id: int) -> None:
    """Created and merged counts, not the people: a 50,000-row file is one event, not 50,000."""
    from hooks.services import event_emit
    from leads.models import ImportJob

    def data() -> dict:
        job = ImportJob.objects.get(pk=job_id)
        return {
            "import_id": job.pk,
            "campaign_id": job.campaign_id,
            "status": job.status,
            "total_rows": job.total_rows,
            "created": job.created_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
        }

    event_emit(event=Event.IMPORT_FINISHED, data=data)
