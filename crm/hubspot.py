"""HubSpot behind the CRM adapter contract (crm.base), through the official hubspot-api-client.

Upsert keys, so a repeated or resumed run finds what it made:
- contacts: batch upsert with idProperty=email (without an email: our lead id in the unique
  custom property salesdept_lead_id);
- companies: searched by domain (else salesdept_company_id), then updated or created;
- deals: batch upsert with idProperty=salesdept_deal_id (a unique custom property);
- notes: searched by salesdept_activity_id, created (with their associations) only when absent.
Associations use v4's default association (PUT, idempotent on HubSpot's side).

The custom properties must exist in the portal (Settings → Properties; salesdept_lead_id and
salesdept_deal_id with "unique values" on): the connection page says so.
"""

import datetime as dt
import json
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from hubspot import Client
from hubspot.crm.associations.v4 import ApiException as AssociationsError
from hubspot.crm.companies import ApiException as CompaniesError
from hubspot.crm.contacts import ApiException as ContactsError
from hubspot.crm.deals import ApiException as DealsError
from hubspot.crm.objects.notes import ApiException as NotesError
from urllib3.exceptions import HTTPError as NetworkError
from urllib3.util.retry import Retry

from crm.base import (
    AuthRefused,
    CompanyRecord,
    ContactRecord,
    CRMError,
    DealRecord,
    NoteRecord,
    RateLimited,
    RecordRefused,
    RemoteDeal,
)

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://api.hubapi.com"
TIMEOUT = (5, 30)  # connect, read: the client's default waits for ever
DEFAULT_RETRY_AFTER = 10.0  # seconds, when a 429 names no Retry-After
API_ERRORS = (ContactsError, CompaniesError, DealsError, NotesError, AssociationsError)
# HubSpot-defined association type ids (v4 "default" associations pick these themselves).
NOTE_TO_CONTACT, NOTE_TO_DEAL = 202, 214
# Our contact fields → HubSpot's contact properties, and our stages' places → the default
# pipeline's stage ids: what a new connection starts with (the mapping page edits them).
CONTACT_DEFAULTS = {
    "first_name": "firstname",
    "last_name": "lastname",
    "email": "email",
    "position": "jobtitle",
    "linkedin_url": "salesdept_linkedin_url",
    "status": "salesdept_status",
}
OPEN_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin"]
WON_STAGE, LOST_STAGE = "closedwon", "closedlost"


class RemoteGone(CRMError):
    """404: the object is not (or no longer) in HubSpot."""


def _millis(at: dt.datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _when(value) -> dt.datetime:
    """A HubSpot date-time property (ISO 8601, or milliseconds since the epoch) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = str(value or "")
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _message(exc) -> str:
    """HubSpot's own words from an error body ({"status":"error","message":...}), never the request."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    text = body.get("message") or getattr(exc, "reason", "") or "no message"
    category = body.get("category", "")
    return f"HubSpot {exc.status}{f' {category}' if category else ''}: {text}"[:480]


def _header(exc, name: str) -> str:
    for key, value in dict(exc.headers or {}).items():
        if key.lower() == name.lower():
            return value
    return ""


def _translated(exc) -> CRMError:
    status = exc.status or 0
    if status == 429:
        try:
            retry_after = float(_header(exc, "Retry-After"))
        except ValueError:
            retry_after = DEFAULT_RETRY_AFTER
        return RateLimited(_message(exc), retry_after=max(retry_after, 0.0))
    if status in (401, 403):
        return AuthRefused(_message(exc))
    if status == 404:
        return RemoteGone(_message(exc))
    if status in (400, 409, 422):
        return RecordRefused(_message(exc))
    return CRMError(_message(exc))


class HubSpotAdapter:
    name = "hubspot"

    def __init__(self, *, token: str, base_url: str = "") -> None:
        base_url = (base_url or DEFAULT_URL).rstrip("/")
        # No status retries in the client: a 429 is ours to wait out (the Celery task's countdown).
        retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2)
        self._client = Client.create(access_token=token, host=base_url, base_url=base_url, retry=retry)

    @classmethod
    def from_connection(cls, connection) -> "HubSpotAdapter":
        return cls(token=connection.credentials, base_url=settings.HUBSPOT_API_URL)

    def _call(self, api_method, *args, **kwargs):
        try:
            return api_method(*args, _request_timeout=TIMEOUT, **kwargs)
        except API_ERRORS as exc:
            raise _translated(exc) from None  # `from None`: the request (and its token) stays out of tracebacks
        except NetworkError as exc:
            raise CRMError(f"HubSpot could not be reached: {type(exc).__name__}") from None

    # The contract.

    def check(self) -> str:
        try:
            response = self._client.api_request({"method": "GET", "path": "/account-info/v3/details"})
        except Exception as exc:  # requests' own errors: the network, not the credentials
            raise CRMError(f"HubSpot could not be reached: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise AuthRefused(f"HubSpot {response.status_code}: the token was refused.")
        if response.status_code >= 400:
            raise CRMError(f"HubSpot {response.status_code}: the account could not be read.")
        details = response.json()
        domain = details.get("uiDomain", "")
        return f"portal {details.get('portalId', '?')}{f' ({domain})' if domain else ''}"

    def upsert_company(self, company: CompanyRecord) -> str:
        api = self._client.crm.companies
        properties = {"name": company.name, "salesdept_company_id": str(company.local_id)}
        if company.domain:
            properties["domain"] = company.domain
        if company.industry:
            properties["salesdept_industry"] = company.industry
        key, value = ("domain", company.domain) if company.domain else ("salesdept_company_id", str(company.local_id))
        found = self._search(api.search_api, key, value)
        if found:
            self._call(api.basic_api.update, found, {"properties": properties})
            return found
        return str(self._call(api.basic_api.create, {"properties": properties}).id)

    def upsert_contact(self, contact: ContactRecord, *, company_id: str | None) -> str:
        properties = dict(contact.extra) or {
            "firstname": contact.first_name,
            "lastname": contact.last_name,
            "jobtitle": contact.title,
        }
        properties["salesdept_lead_id"] = str(contact.local_id)
        key = ("email", contact.email) if contact.email else ("salesdept_lead_id", str(contact.local_id))
        properties.pop("email", None)  # the key goes as the id; HubSpot sets the property from it
        upserted = self._call(
            self._client.crm.contacts.batch_api.upsert,
            {"inputs": [{"idProperty": key[0], "id": key[1], "properties": properties}]},
        )
        contact_id = str(upserted.results[0].id)
        if company_id:
            self._associate("contacts", contact_id, "companies", company_id)
        return contact_id

    def upsert_deal(self, deal: DealRecord, *, contact_id: str, company_id: str | None) -> str:
        properties = {
            "dealname": deal.name,
            "dealstage": deal.stage,
            "amount": str(deal.amount),
            "deal_currency_code": deal.currency,
            "closedate": deal.close_date.isoformat() if deal.close_date else "",
            "salesdept_next_step": deal.next_step,
            "closed_lost_reason": deal.lost_reason,
        }
        upserted = self._call(
            self._client.crm.deals.batch_api.upsert,
            {"inputs": [{"idProperty": "salesdept_deal_id", "id": str(deal.local_id), "properties": properties}]},
        )
        deal_id = str(upserted.results[0].id)
        self._associate("deals", deal_id, "contacts", contact_id)
        if company_id:
            self._associate("deals", deal_id, "companies", company_id)
        return deal_id

    def add_note(self, note: NoteRecord, *, contact_id: str, deal_id: str | None) -> str:
        api = self._client.crm.objects.notes
        found = self._search(api.search_api, "salesdept_activity_id", str(note.local_id))
        if found:
            return found
        associations = [self._link(contact_id, NOTE_TO_CONTACT)]
        if deal_id:
            associations.append(self._link(deal_id, NOTE_TO_DEAL))
        properties = {
            "hs_note_body": note.body,
            "hs_timestamp": note.at.isoformat(),
            "salesdept_activity_id": str(note.local_id),
        }
        return str(self._call(api.basic_api.create, {"properties": properties, "associations": associations}).id)

    def changed_deals(self, *, since: dt.datetime) -> list[RemoteDeal]:
        api = self._client.crm.deals.search_api
        properties = ["dealstage", "amount", "salesdept_deal_id", "hs_lastmodifieddate"]
        changed, after = [], None
        while True:
            request = {
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": _millis(since)}]}
                ],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": 100,
            }
            if after:
                request["after"] = after
            page = self._call(api.do_search, request)
            for deal in page.results:
                changed.append(_remote_deal(deal))
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return changed

    def delete_contact(self, remote_id: str) -> None:
        try:
            self._call(self._client.crm.contacts.basic_api.archive, remote_id)
        except RemoteGone:  # already gone is what erasure wants
            pass

    # Helpers.

    def _search(self, search_api, name: str, value: str) -> str | None:
        request = {
            "filterGroups": [{"filters": [{"propertyName": name, "operator": "EQ", "value": value}]}],
            "properties": [name],
            "limit": 1,
        }
        page = self._call(search_api.do_search, request)
        return str(page.results[0].id) if page.results else None

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._call(self._client.crm.associations.v4.basic_api.create_default, from_type, from_id, to_type, to_id)

    @staticmethod
    def _link(remote_id: str, type_id: int) -> dict:
        return {
            "to": {"id": remote_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }


def _remote_deal(deal) -> RemoteDeal:
    props = deal.properties or {}
    local = props.get("salesdept_deal_id") or ""
    try:
        amount = Decimal(props["amount"]) if props.get("amount") else None
    except InvalidOperation:
        amount = None
    modified = props.get("hs_lastmodifieddate") or deal.updated_at
    return RemoteDeal(
        remote_id=str(deal.id),
        local_id=int(local) if local.isdigit() else None,
        stage=props.get("dealstage") or "",
        amount=amount,
        modified_at=_when(modified),
    )
