"""What every CRM adapter does, in our words: the sync (crm.sync) speaks only this.

An adapter turns our records into one CRM's objects and calls through that CRM's official
client library (hubspot-api-client, simple-salesforce). Upserts are keyed so that running one
twice, or after a sync killed half-way, finds the object it made rather than making another:
contacts by email (else our lead id in a custom property), companies by domain (else our
company id), deals and notes by our own id in a custom / external-id property.

Errors are the three kinds the sync treats differently: a rate limit waits and retries, a
record's own error is logged on that record and the others go on, a refused credential stops
the run and tells a manager.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class CompanyRecord:
    local_id: int
    name: str
    domain: str = ""
    industry: str = ""


@dataclass(frozen=True)
class ContactRecord:
    local_id: int  # our Lead's id
    first_name: str
    last_name: str
    email: str = ""
    title: str = ""
    linkedin_url: str = ""
    status: str = ""  # our lead status (mapped by the field mapping)
    extra: dict[str, str] = field(default_factory=dict)  # mapped fields: CRM property → value


@dataclass(frozen=True)
class DealRecord:
    local_id: int  # our Deal's id
    name: str
    stage: str  # the CRM's stage id/name, already mapped from ours
    amount: Decimal
    currency: str
    close_date: dt.date | None = None
    next_step: str = ""
    lost_reason: str = ""


@dataclass(frozen=True)
class NoteRecord:
    local_id: int  # our Activity's id (a sent message or a reply)
    body: str
    at: dt.datetime


@dataclass(frozen=True)
class RemoteDeal:
    """A deal as the CRM has it now: how a stage changed on their side comes back to us."""

    remote_id: str
    local_id: int | None
    stage: str
    amount: Decimal | None
    modified_at: dt.datetime


class CRMError(Exception):
    """Something the CRM refused or could not do; the text is safe to show (no credentials)."""


class RateLimited(CRMError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, from Retry-After or the CRM's policy


class RecordRefused(CRMError):
    """This record only (a bad email, a missing required field): log it on the record, go on."""


class AuthRefused(CRMError):
    """The credentials are wrong, expired or lack a scope: the run stops, a manager is told."""


class CRMAdapter(Protocol):
    name: str  # "hubspot", "salesforce"

    def check(self) -> str:
        """Who we are connected as (the portal / org), or AuthRefused."""

    def upsert_company(self, company: CompanyRecord) -> str:
        """The CRM's id of the company (created or found and updated)."""

    def upsert_contact(self, contact: ContactRecord, *, company_id: str | None) -> str: ...

    def upsert_deal(self, deal: DealRecord, *, contact_id: str, company_id: str | None) -> str: ...

    def add_note(self, note: NoteRecord, *, contact_id: str, deal_id: str | None) -> str:
        """An engagement / task on the contact (and deal): a sent message or a reply, once."""

    def changed_deals(self, *, since: dt.datetime) -> list[RemoteDeal]:
        """Deals modified in the CRM since `since` (ours included: the sync compares stages)."""

    def delete_contact(self, remote_id: str) -> None:
        """Erasure: the person is removed (or anonymised where the CRM cannot delete)."""
