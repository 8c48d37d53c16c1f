"""Connecting a CRM, its mapping, and erasing a person there: every write of the crm app but the sync's."""

import dataclasses
import importlib
import logging

from django.db import transaction

from crm.adapters import adapter_for
from crm.base import AuthRefused, CRMError
from crm.models import CRMConnection, FieldMapping, SyncRecord
from deals.models import DealStage
from salesdept import clock

logger = logging.getLogger(__name__)

# Lead fields a manager may send to the CRM (the mapping page lists them in this order).
CONTACT_FIELDS = ["first_name", "last_name", "email", "position", "headline", "location", "linkedin_url", "status"]


@dataclasses.dataclass(frozen=True)
class Check:
    ok: bool
    message: str


def _defaults(kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """Contact field defaults and a stage default per outcome/position for a new connection of `kind`.

    Each adapter module names its CRM's defaults (CONTACT_DEFAULTS, OPEN_STAGES, WON_STAGE, LOST_STAGE):
    our open stages in order take its open stages in order (the last repeats), won and lost theirs.
    """
    modules = {CRMConnection.Kind.HUBSPOT: "crm.hubspot", CRMConnection.Kind.SALESFORCE: "crm.salesforce"}
    if kind not in modules:
        return {}, {}
    crm = importlib.import_module(modules[kind])
    stages = {}
    open_stages = list(DealStage.objects.filter(outcome=DealStage.Outcome.OPEN))
    for index, stage in enumerate(open_stages):
        stages[str(stage.pk)] = crm.OPEN_STAGES[min(index, len(crm.OPEN_STAGES) - 1)]
    for stage in DealStage.objects.exclude(outcome=DealStage.Outcome.OPEN):
        stages[str(stage.pk)] = crm.WON_STAGE if stage.outcome == DealStage.Outcome.WON else crm.LOST_STAGE
    return crm.CONTACT_DEFAULTS, stages


def mapping_defaults_create(*, connection: CRMConnection) -> int:
    """The default mapping rows the connection lacks (a stage added since gets one too); existing rows stay."""
    fields, stages = _defaults(connection.kind)
    made = 0
    for kind, rows in ((FieldMapping.Kind.CONTACT, fields), (FieldMapping.Kind.STAGE, stages)):
        for ours, theirs in rows.items():
            _, created = FieldMapping.objects.get_or_create(
                connection=connection, kind=kind, ours=ours, defaults={"theirs": theirs}
            )
            made += created
    return made


def connection_check(*, kind: str, credentials: str) -> Check:
    """Ask the CRM who these credentials are; nothing is stored."""
    probe = CRMConnection(kind=kind, credentials=credentials)
    try:
        return Check(True, f"Connected as {adapter_for(probe).check()}.")
    except AuthRefused as refused:
        return Check(False, f"The credentials were refused: {refused}")
    except CRMError as error:
        return Check(False, str(error))


@transaction.atomic
def connection_save(*, kind: str, credentials: str, actor, connected_as: str) -> CRMConnection:
    """Store checked credentials (a blank value keeps the stored ones) and the default mapping."""
    connection, _ = CRMConnection.objects.get_or_create(kind=kind, defaults={"created_by": actor})
    fields = ["connected_as", "health", "health_reason", "is_active"]
    if credentials:
        connection.credentials = credentials
        fields.append("credentials")
    connection.connected_as = connected_as[:200]
    connection.health, connection.health_reason, connection.is_active = CRMConnection.Health.OK, "", True
    connection.save(update_fields=fields)
    mapping_defaults_create(connection=connection)
    return connection


def connection_set_active(*, connection: CRMConnection, active: bool) -> None:
    CRMConnection.objects.filter(pk=connection.pk).update(is_active=active)


@transaction.atomic
def mapping_update(*, connection: CRMConnection, contact: dict[str, str], stages: dict[str, str]) -> int:
    """Set each mapped value (blank: not synced); returns how many changed."""
    changed = 0
    for kind, rows in ((FieldMapping.Kind.CONTACT, contact), (FieldMapping.Kind.STAGE, stages)):
        for ours, theirs in rows.items():
            row, created = FieldMapping.objects.get_or_create(
                connection=connection, kind=kind, ours=ours, defaults={"theirs": theirs}
            )
            if not created and row.theirs != theirs:
                row.theirs = theirs
                row.save(update_fields=["theirs"])
                changed += 1
            changed += created
    return changed


def crm_erase_request(*, lead_id: int) -> int:
    """Erasure asked: the person's contact in every CRM is to be deleted (a task tries now, each sync again).

    Runs inside the erasure's transaction; the call to the CRM happens after it commits.
    """
    from crm.tasks import crm_erase_task

    # A CRM that never had the person gets a tombstone: no later run sends the emptied lead there.
    for connection in CRMConnection.objects.exclude(
        pk__in=SyncRecord.objects.filter(kind=SyncRecord.Kind.CONTACT, local_id=lead_id).values("connection")
    ):
        SyncRecord.objects.create(
            connection=connection, kind=SyncRecord.Kind.CONTACT, local_id=lead_id, lead_id=lead_id,
            state=SyncRecord.State.ERASED,
        )  # fmt: skip
    # Refused before the CRM ever had it: nothing there to delete.
    SyncRecord.objects.filter(lead_id=lead_id, kind=SyncRecord.Kind.CONTACT, remote_id="").exclude(
        state=SyncRecord.State.PENDING
    ).update(state=SyncRecord.State.ERASED)
    marked = (
        SyncRecord.objects.filter(lead_id=lead_id, kind=SyncRecord.Kind.CONTACT)
        .exclude(state=SyncRecord.State.ERASED)
        .update(state=SyncRecord.State.ERASING, last_error="")
    )
    # The person's other records (their deals, notes) are never sent again either.
    SyncRecord.objects.filter(lead_id=lead_id).exclude(kind=SyncRecord.Kind.CONTACT).update(
        state=SyncRecord.State.ERASED
    )
    if marked:
        crm_erase_task.delay_on_commit(lead_id)
    return marked


def crm_erase_pending(*, lead_id: int | None = None, connection: CRMConnection | None = None) -> dict[str, list]:
    """Delete the contacts waiting for erasure; what could not be reached stays waiting with its reason.

    Returns {"erased": [connection names], "unreached": [{"crm": name, "error": reason}]} and,
    for one person, writes it on their timeline (the privacy log).
    """
    from leads.models import Lead
    from leads.services import activity_record

    pending = SyncRecord.objects.filter(state=SyncRecord.State.ERASING, kind=SyncRecord.Kind.CONTACT)
    if lead_id is not None:
        pending = pending.filter(lead_id=lead_id)
    if connection is not None:
        pending = pending.filter(connection=connection)
    result: dict[str, list] = {"erased": [], "unreached": []}
    for record in pending.select_related("connection"):
        name = str(record.connection)
        try:
            if not record.remote_id:
                raise CRMError("no id of the person in the CRM was recorded")
            adapter_for(record.connection).delete_contact(record.remote_id)
        except CRMError as error:
            SyncRecord.objects.filter(pk=record.pk).update(last_error=str(error)[:500])
            result["unreached"].append({"crm": name, "error": str(error)[:300]})
            continue
        SyncRecord.objects.filter(pk=record.pk).update(
            state=SyncRecord.State.ERASED, last_error="", synced_at=clock.now(), synced_hash=""
        )
        result["erased"].append(name)
    if lead_id is not None and (result["erased"] or result["unreached"]):
        activity_record(verb="privacy.crm_erased", lead=Lead.objects.filter(pk=lead_id).first(), **result)
    return result
