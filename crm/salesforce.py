"""Salesforce behind the CRM contract (crm.base), through simple-salesforce and the REST API.

**Auth: the OAuth 2.0 client credentials flow.** A server integration has no person at a
keyboard, so the org's admin makes a connected app with "Enable Client Credentials Flow" and
an execution ("Run As") user with only the permissions the sync needs; we hold its consumer
key and secret (encrypted by the framework) and POST them, in HTTP Basic, to the org's own My
Domain token endpoint (`{instance_url}/services/oauth2/token`). We chose it over the JWT bearer
flow (which needs a certificate uploaded to the app and a private key kept here, and a
pre-authorised user: more to set up, nothing more to gain for one org) and over the
username-password flow (a person's password and security token, which Salesforce blocks by
default in new orgs). simple-salesforce's own login helpers build `https://{domain}.salesforce.com`
URLs, so we call its `token_login` with the org's URL and hand the token to `Salesforce` as a
direct session; an expired session (401) logs in again once, then stops with AuthRefused.

**Mapping.** Every object carries our id in a custom external-id field, `SalesDept_Id__c`
(Text(40), External ID, Unique) that the admin adds to Account, Contact, Opportunity and Activity
(Task's custom fields live there); `check()` says which object lacks it:
upserts PATCH `/sobjects/{Obj}/SalesDept_Id__c/{our id}`, so a sync killed half-way and run
again finds what it made. Companies are Accounts (Name, Website, Industry); an Account someone
made by hand with the same Website is adopted (our id is written on it) rather than doubled.
People are always **Contacts**, never Leads: a deal needs the person as an OpportunityContactRole
and a note needs a WhoId, and a Lead can only become a Contact through lead conversion, which
the REST API does not offer. A person without a company is a Contact without AccountId
(Salesforce calls it a private contact: only its owner and admins see it). A Contact with the
same Email made by hand is adopted too. Deals are Opportunities (StageName already mapped by
the sync; CloseDate, which Salesforce requires, is the expected close, else left as it is in
Salesforce, else `DEFAULT_CLOSE_DAYS` from today; CurrencyIsoCode only in multi-currency orgs),
linked to the contact by one primary OpportunityContactRole. Notes are completed Tasks on the
contact (WhoId) and deal (WhatId), keyed by our activity id, so a note sent twice is one Task.
We send only fields that have a value: an empty field of ours never blanks what a person
typed in Salesforce.

**Erasure.** `delete_contact` deletes the Tasks we wrote on the contact (they hold message
bodies), then the Contact (Salesforce removes its OpportunityContactRoles with it). Salesforce
keeps deleted records in the org's recycle bin for 15 days, restorable by an admin and visible
to queryAll, before purging them; emptying the bin at once needs the SOAP `emptyRecycleBin`
call or a Bulk API hard delete (a permission most integration users do not have), which this
adapter does not do: the framework should say so where it reports the erasure.

**Errors.** Salesforce answers a list [{"message", "errorCode", "fields"}]. REQUEST_LIMIT_EXCEEDED
(403: the org's rolling 24-hour API allowance, or too many long requests at once) and 429/503
are RateLimited (Retry-After when sent, else our wait for that limit); a 400 or 300 on a record
is RecordRefused with Salesforce's message; 401 after one new login, a refused token request and
any other 403 (API disabled, the user lacks access) are AuthRefused. Messages are ours, built
from the error code and message: never the token, the secret or a request.

One adapter serves one sync run in one thread (it remembers the last Retry-After it saw).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from simple_salesforce import Salesforce, format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import token_login

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
from salesdept import clock

logger = logging.getLogger(__name__)

API_VERSION = "59.0"
EXTERNAL_ID = "SalesDept_Id__c"
KEYED_OBJECTS = ("Account", "Contact", "Opportunity", "Task")
DEFAULT_CLOSE_DAYS = 30  # an open deal with no expected close: a month out, the usual next review
DAILY_LIMIT_WAIT = 3600.0  # the allowance is a rolling 24 hours: calls free up as hour-old ones age out
CONCURRENT_LIMIT_WAIT = 60.0  # "ConcurrentPerOrgLongTxn": other long requests finish within a minute
THROTTLE_WAIT = 30.0  # 429/503 without Retry-After
TIMEOUT_SECONDS = 30.0
SUBJECT_MAX, DESCRIPTION_MAX, NEXT_STEP_MAX = 255, 32000, 255
# Our contact fields → standard Contact fields, and our stages' places → the standard StageName
# picklist values: what a new connection starts with (the mapping page edits them). Our other
# fields have no standard home on a Contact: an admin maps them to custom fields of theirs.
CONTACT_DEFAULTS = {"first_name": "FirstName", "last_name": "LastName", "email": "Email", "position": "Title"}
OPEN_STAGES = ["Prospecting", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review"]
WON_STAGE, LOST_STAGE = "Closed Won", "Closed Lost"


class _Refused(RecordRefused):
    def __init__(self, message: str, *, code: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code, self.fields = code, fields


class _Session(requests.Session):
    """requests with a timeout on every call (simple-salesforce passes none for writes)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.retry_after: str | None = None
        self.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.retry_after = response.headers.get("Retry-After")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)  # else REQUESTS_CA_BUNDLE in the environment overrides ours
        return super().request(method, url, *args, **kwargs)


class SalesforceAdapter:
    name = "salesforce"

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        api_version: str = API_VERSION,
        *,
        multi_currency: bool = True,
        verify: str | bool = True,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        """`instance_url` is the org's My Domain URL (https://acme.my.salesforce.com); `verify` a CA
        bundle to trust instead of the system's (tests: the fake's certificate)."""
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version.removeprefix("v")
        self.multi_currency = multi_currency
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = _Session(timeout)
        self._session.verify = verify
        self._sf: Salesforce | None = None

    def __repr__(self) -> str:
        return f"<SalesforceAdapter {self.instance_url}>"

    @classmethod
    def from_connection(cls, connection) -> SalesforceAdapter:
        """From the connection's decrypted credentials, a JSON object (`credentials_json` writes it);
        the CAs trusted are SALESFORCE_CA_BUNDLE's, else the system's."""
        values = credentials_read(connection.credentials)
        return cls(
            values["instance_url"],
            values["client_id"],
            values["client_secret"],
            multi_currency=values["multi_currency"],
            verify=settings.SALESFORCE_CA_BUNDLE or True,
        )

    # --- the contract ---

    def check(self) -> str:
        """The org, once we know every object we write has our external-id field (else CRMError)."""
        rows = self._query("SELECT Id, Name FROM Organization LIMIT 1", what="Organization")
        org = rows[0] if rows else {}
        who = f"{org.get('Name', '?')} ({org.get('Id', '?')})"
        missing = [obj for obj in KEYED_OBJECTS if not self._has_external_id(obj)]
        if missing:
            raise CRMError(
                f"Connected to {who}, but {', '.join(missing)} lack the {EXTERNAL_ID} field"
                " (Text(40), External ID, Unique) the sync keys records by: an admin adds it in Setup"
            )
        return who

    def upsert_company(self, company: CompanyRecord) -> str:
        website = f"https://{company.domain}" if company.domain else ""
        if company.domain:
            self._adopt("Account", company.local_id, "Website", _website_variants(company.domain))
        values = {"Name": company.name, "Website": website, "Industry": company.industry}
        return self._upsert("Account", company.local_id, values)

    def upsert_contact(self, contact: ContactRecord, *, company_id: str | None) -> str:
        if contact.email:
            self._adopt("Contact", contact.local_id, "Email", [contact.email])
        # The mapped fields first: a blank one mapped onto LastName must not undo the fallback below.
        values = {
            **contact.extra,
            "FirstName": contact.first_name,
            "LastName": contact.last_name or contact.first_name,  # Salesforce requires a last name
            "Email": contact.email,
            "Title": contact.title,
            "AccountId": company_id,
        }
        return self._upsert("Contact", contact.local_id, values)

    def upsert_deal(self, deal: DealRecord, *, contact_id: str, company_id: str | None) -> str:
        values: dict[str, Any] = {
            "Name": deal.name,
            "StageName": deal.stage,
            "Amount": float(deal.amount),
            "CloseDate": deal.close_date.isoformat() if deal.close_date else None,
            "NextStep": deal.next_step[:NEXT_STEP_MAX],
            "Description": f"Lost: {deal.lost_reason}" if deal.lost_reason else "",
            "AccountId": company_id,
        }
        if self.multi_currency:
            values["CurrencyIsoCode"] = deal.currency
        try:
            deal_id = self._upsert("Opportunity", deal.local_id, values)
        except _Refused as refused:
            if deal.close_date or refused.code != "REQUIRED_FIELD_MISSING" or "CloseDate" not in refused.fields:
                raise
            # A new opportunity needs a close date; an existing one keeps the date set in Salesforce.
            default = (
                clock.today() if deal.stage.startswith("Closed") else clock.today() + dt.timedelta(DEFAULT_CLOSE_DAYS)
            )
            deal_id = self._upsert("Opportunity", deal.local_id, {**values, "CloseDate": default.isoformat()})
        self._ensure_contact_role(deal_id, contact_id)
        return deal_id

    def add_note(self, note: NoteRecord, *, contact_id: str, deal_id: str | None) -> str:
        first_line = next((line.strip() for line in note.body.splitlines() if line.strip()), "Message")
        values = {
            "Subject": f"SalesDept: {first_line}"[:SUBJECT_MAX],
            "Description": note.body[:DESCRIPTION_MAX],
            "ActivityDate": timezone.localdate(note.at).isoformat(),
            "Status": "Completed",
            "WhoId": contact_id,
            "WhatId": deal_id,
        }
        return self._upsert("Task", note.local_id, values)

    def changed_deals(self, *, since: dt.datetime) -> list[RemoteDeal]:
        # SOQL datetimes have whole seconds: >= the second of `since` may repeat a deal, never miss one.
        soql = format_soql(
            "SELECT Id, {:literal}, StageName, Amount, SystemModstamp FROM Opportunity"
            " WHERE SystemModstamp >= {} ORDER BY SystemModstamp",
            EXTERNAL_ID,
            since,
        )
        return [_remote_deal(row) for row in self._query(soql, what="Opportunity")]

    def delete_contact(self, remote_id: str) -> None:
        soql = format_soql("SELECT Id FROM Task WHERE WhoId = {} AND {:literal} != null", remote_id, EXTERNAL_ID)
        for task in self._query(soql, what="Task"):
            self._delete("Task", task["Id"])
        self._delete("Contact", remote_id)

    # --- the calls ---

    def _client(self) -> Salesforce:
        if self._sf is None:
            basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
            try:
                token, instance = token_login(
                    f"{self.instance_url}/services/oauth2/token",
                    {"grant_type": "client_credentials"},
                    "login",
                    self._client_id,
                    {"Authorization": f"Basic {basic}"},
                    None,
                    self._session,
                )
            except SalesforceAuthenticationFailed as exc:
                raise AuthRefused(f"Salesforce refused the connected app's credentials ({exc.code})") from None
            except requests.RequestException as exc:
                raise CRMError(f"Salesforce could not be reached to log in ({type(exc).__name__})") from None
            self._sf = Salesforce(
                session_id=token,
                instance=instance,
                version=self.api_version,
                session=self._session,
                parse_float=Decimal,
            )
        return self._sf

    def _call(self, what: str, call: Callable[[Salesforce], Any], *, record: bool = True) -> Any:
        for attempt in (1, 2):
            sf = self._client()
            try:
                return call(sf)
            except SalesforceExpiredSession:
                if attempt == 2:
                    raise AuthRefused("Salesforce refused a new session too (401 INVALID_SESSION_ID)") from None
                logger.info("Salesforce session expired; logging in again")
                self._sf = None
            except SalesforceError as exc:
                raise self._translate(exc, what, record=record) from None
            except requests.RequestException as exc:
                raise CRMError(f"Salesforce could not be reached ({type(exc).__name__})") from None
        raise AssertionError("unreachable")

    def _translate(self, exc: SalesforceError, what: str, *, record: bool) -> CRMError:
        code, message, fields = _first_error(exc.content)
        text = f"Salesforce refused the {what}: {message} ({code or exc.status})"
        retry_after = _seconds(self._session.retry_after)
        if code == "REQUEST_LIMIT_EXCEEDED":
            wait = DAILY_LIMIT_WAIT if "TotalRequests" in message else CONCURRENT_LIMIT_WAIT
            return RateLimited(text, retry_after=retry_after if retry_after is not None else wait)
        if exc.status in (429, 503):
            return RateLimited(text, retry_after=retry_after if retry_after is not None else THROTTLE_WAIT)
        if isinstance(exc, SalesforceRefusedRequest):
            return AuthRefused(text)
        if isinstance(exc, SalesforceResourceNotFound) and "external ID field" in message:
            return CRMError(f"Salesforce has no {EXTERNAL_ID} external-id field on {what}: an admin adds it in Setup")
        if record and (exc.status == 400 or isinstance(exc, SalesforceMoreThanOneRecord)):
            if isinstance(exc, SalesforceMoreThanOneRecord):
                text = f"Salesforce has several {what} records with the same {EXTERNAL_ID}"
            return _Refused(text, code=code, fields=fields)
        return CRMError(text)

    def _has_external_id(self, obj: str) -> bool:
        describe = self._call(obj, lambda sf: getattr(sf, obj).describe(), record=False)
        return any(field["name"] == EXTERNAL_ID and field.get("externalId") for field in describe["fields"])

    def _query(self, soql: str, *, what: str) -> list[dict[str, Any]]:
        return self._call(what, lambda sf: sf.query_all(soql), record=False)["records"]

    def _upsert(self, obj: str, local_id: int, values: dict[str, Any]) -> str:
        body = {field: value for field, value in values.items() if value not in (None, "")}
        key = format_external_id(EXTERNAL_ID, str(local_id))
        response = self._call(obj, lambda sf: getattr(sf, obj).upsert(key, body, raw_response=True))
        if response.status_code == 204:  # API versions before 46.0 answer an update with no body
            return self._call(obj, lambda sf: getattr(sf, obj).get_by_custom_id(EXTERNAL_ID, str(local_id)))["Id"]
        return response.json()["id"]

    def _adopt(self, obj: str, local_id: int, field: str, values: list[str]) -> None:
        """A record a person made with the same email / website gets our id, so the upsert updates it."""
        soql = format_soql(
            "SELECT Id, {:literal} FROM {:literal} WHERE {:literal} = {} OR {:literal} IN {} ORDER BY CreatedDate",
            EXTERNAL_ID,
            obj,
            EXTERNAL_ID,
            str(local_id),
            field,
            values,
        )
        rows = self._query(soql, what=obj)
        if any(row[EXTERNAL_ID] == str(local_id) for row in rows):
            return
        unclaimed = [row for row in rows if not row[EXTERNAL_ID]]
        if unclaimed:
            record_id = unclaimed[0]["Id"]
            self._call(obj, lambda sf: getattr(sf, obj).update(record_id, {EXTERNAL_ID: str(local_id)}))

    def _ensure_contact_role(self, deal_id: str, contact_id: str) -> None:
        soql = format_soql(
            "SELECT Id FROM OpportunityContactRole WHERE OpportunityId = {} AND ContactId = {}", deal_id, contact_id
        )
        if not self._query(soql, what="OpportunityContactRole"):
            role = {"OpportunityId": deal_id, "ContactId": contact_id, "IsPrimary": True}
            self._call("OpportunityContactRole", lambda sf: sf.OpportunityContactRole.create(role))

    def _delete(self, obj: str, record_id: str) -> None:
        def delete(sf: Salesforce) -> None:
            try:
                getattr(sf, obj).delete(record_id)
            except SalesforceResourceNotFound:
                pass  # already gone: deleted by a person, or by a run that stopped before recording it

        self._call(obj, delete, record=False)


CREDENTIAL_KEYS = ("instance_url", "client_id", "client_secret", "multi_currency")
_UNREADABLE = "The stored Salesforce credentials are not readable ({}): connect Salesforce again on its CRM page"


def instance_url_problem(url: str) -> str | None:
    """Why `url` is not an org's My Domain URL (https://host[:port], nothing after it), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        return "not a URL"
    if parts.scheme != "https":
        return "it must start with https://"
    if not parts.hostname or parts.username or parts.password:
        return "it must name the org's host only, e.g. https://acme.my.salesforce.com"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "only the address of the org, without a path, e.g. https://acme.my.salesforce.com"
    return None


def credentials_json(*, instance_url: str, client_id: str, client_secret: str, multi_currency: bool) -> str:
    """What a Salesforce connection stores (encrypted by its field)."""
    values = {"instance_url": instance_url.rstrip("/"), "client_id": client_id, "client_secret": client_secret}
    return json.dumps(values | {"multi_currency": multi_currency})


def credentials_read(stored: str) -> dict[str, Any]:
    """The stored credentials as a dict, or CRMError naming what is wrong (never a value)."""
    try:
        values = json.loads(stored or "")
    except ValueError:
        raise CRMError(_UNREADABLE.format("not JSON")) from None
    if not isinstance(values, dict):
        raise CRMError(_UNREADABLE.format("not a JSON object"))
    missing = [key for key in CREDENTIAL_KEYS[:3] if not isinstance(values.get(key), str) or not values[key].strip()]
    if missing:
        raise CRMError(_UNREADABLE.format(f"missing {', '.join(missing)}"))
    if not isinstance(values.get("multi_currency", False), bool):
        raise CRMError(_UNREADABLE.format("multi_currency is not true or false"))
    problem = instance_url_problem(values["instance_url"])
    if problem:
        raise CRMError(_UNREADABLE.format(f"instance_url: {problem}"))
    return {
        "instance_url": values["instance_url"].strip(),
        "client_id": values["client_id"].strip(),
        "client_secret": values["client_secret"],
        "multi_currency": values.get("multi_currency", False),
    }


def _first_error(content: Any) -> tuple[str, str, list[str]]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or ""), str(first.get("message") or ""), list(first.get("fields") or [])
    return "", "", []


def _seconds(retry_after: str | None) -> float | None:
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - clock.now()).total_seconds())


def _website_variants(domain: str) -> list[str]:
    hosts = [domain, f"www.{domain}"]
    return [f"{scheme}{host}{slash}" for scheme in ("", "http://", "https://") for host in hosts for slash in ("", "/")]


def _remote_deal(row: dict[str, Any]) -> RemoteDeal:
    local = row.get(EXTERNAL_ID)
    try:
        local_id = int(Decimal(str(local))) if local not in (None, "") else None
    except ArithmeticError:
        local_id = None  # not one of ours: a person typed something else in the field
    amount = row.get("Amount")
    return RemoteDeal(
        remote_id=row["Id"],
        local_id=local_id,
        stage=row["StageName"],
        amount=Decimal(str(amount)) if amount is not None else None,
        modified_at=dt.datetime.strptime(row["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z"),
    )
