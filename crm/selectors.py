from django.db.models import QuerySet

from crm.models import CRMConnection, SyncRecord, SyncRun

LOG_LENGTH = 20


def connection_of(kind: str) -> CRMConnection | None:
    return CRMConnection.objects.filter(kind=kind).first()


def sync_log(*, connection: CRMConnection) -> list[SyncRun]:
    """The connection's latest runs, newest first."""
    return list(SyncRun.objects.filter(connection=connection)[:LOG_LENGTH])


def lead_sync_state(lead) -> QuerySet[SyncRecord]:
    """Each of the person's records in each CRM: its state and last error (one query)."""
    return SyncRecord.objects.filter(lead=lead).select_related("connection").order_by("connection__kind", "kind", "pk")
