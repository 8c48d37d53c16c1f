"""Which adapter class serves which kind of connection (each builds itself from the connection)."""

from django.utils.module_loading import import_string

from crm.base import CRMAdapter, CRMError

ADAPTERS = {
    "hubspot": "crm.hubspot.HubSpotAdapter",
    "salesforce": "crm.salesforce.SalesforceAdapter",
}


def adapter_for(connection) -> CRMAdapter:
    """The connection's adapter: `<Adapter>.from_connection(connection)`."""
    try:
        adapter_class = import_string(ADAPTERS[connection.kind])
    except (KeyError, ImportError):
        raise CRMError(f"No adapter for {connection.kind} in this version.") from None
    return adapter_class.from_connection(connection)
