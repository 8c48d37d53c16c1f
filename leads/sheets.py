"""A campaign's leads mirrored to its Google Sheet: upserted by lead id (column A), in batches.

Writes through gspread with a service account (GOOGLE_SERVICE_ACCOUNT_KEY). The database is the
truth and every sync rewrites every row of the campaign, so a sync repeated is harmless; appends are
not idempotent, so two syncs of one sheet never run at once (a claim on SheetSync.status).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gspread
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from gspread.http_client import HTTPClient
from gspread.utils import InsertDataOption, ValueInputOption, ValueRenderOption, rowcol_to_a1

from campaigns.models import Campaign
from leads.models import Lead, SheetSync
from leads.selectors import in_campaign
from leads.services import activity_record
from outreach.models import InboundMessage, OutreachMessage
from salesdept import clock
from salesdept.people import display_name

logger = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]  # no Drive: we open sheets by key only
GOOGLE_SHEETS_URL = "https://sheets.googleapis.com"
TIMEOUT = (5, 30)  # (connect, read) seconds; gspread's default waits forever
ROWS_PER_REQUEST = 500  # a batch counts as one request against the quota, whatever its size
NEW_SHEET_COLUMNS = 26  # what Google gives a new sheet; more than SHEET_COLUMNS has

# Lead field -> header label. The campaign page offers these; column A is always the id.
SHEET_COLUMNS: dict[str, str] = {
    "id": "ID",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "linkedin_url": "LinkedIn URL",
    "position": "Position",
    "headline": "Headline",
    "company": "Company",
    "location": "Location",
    "label": "Label",
    "score": "Score",
    "status": "Status",
    "owner": "Owner",
    "insight": "Insight",
    "last_contacted": "Last contacted",
    "replied": "Replied",
    "created_at": "Found",
}
DEFAULT_SHEET_COLUMNS: list[str] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "linkedin_url",
    "position",
    "company",
    "label",
    "score",
    "status",
    "owner",
    "insight",
    "last_contacted",
    "replied",
]

_KEY = re.compile(r"^[A-Za-z0-9_-]{25,100}$")
_URL_KEY = re.compile(r"^https://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]{25,100})(?:[/?#].*)?$")
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|$)", re.DOTALL)
_BUSY = (SheetSync.Status.QUEUED, SheetSync.Status.RUNNING, SheetSync.Status.RETRYING)


class SheetsRetryLater(Exception):
    """Google may say yes later (quota, its own errors, the network): the task retries with backoff."""


class SheetsRefused(Exception):
    """A retry cannot help (not shared, not found, bad credentials): the sync fails and says why."""


# -- credentials -----------------------------------------------------------------------------------------------
def _service_account_info() -> dict[str, Any]:
    """The service account JSON from GOOGLE_SERVICE_ACCOUNT_KEY (the JSON itself or a file path).

    Error messages name the problem, never the content: the JSON holds the private key.
    """
    value = settings.GOOGLE_SERVICE_ACCOUNT_KEY.strip()
    if not value:
        raise ImproperlyConfigured("GOOGLE_SERVICE_ACCOUNT_KEY is not set: Google Sheets sync is off.")
    if not value.startswith("{"):
        try:
            value = Path(value).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"GOOGLE_SERVICE_ACCOUNT_KEY names a file that cannot be read ({exc.strerror})."
            ) from None
    try:
        info = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(
            f"GOOGLE_SERVICE_ACCOUNT_KEY is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account" or not info.get("client_email"):
        raise ImproperlyConfigured(
            'GOOGLE_SERVICE_ACCOUNT_KEY must be a service account key ("type": "service_account", with a '
            "client_email): create one in Google Cloud under IAM > Service accounts > Keys."
        )
    if not str(info.get("token_uri", "")).startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            "GOOGLE_SERVICE_ACCOUNT_KEY has no token_uri (Google's is https://oauth2.googleapis.com/token)."
        )
    return info


def service_account_email() -> str:
    """Whom a manager shares the sheet with; "" when the service account is not configured (or unreadable)."""
    try:
        return _service_account_info()["client_email"]
    except ImproperlyConfigured:
        return ""


class _Credentials(service_account.Credentials):
    def _is_regional_access_boundary_lookup_required(self) -> bool:
        # After each token google-auth asks iamcredentials.googleapis.com, in a background thread,
        # where the account may be used. An emulator or proxy (SHEETS_API_URL) is not Google:
        # there is nothing to ask, and nothing may leave for the internet.
        return not settings.SHEETS_API_URL and super()._is_regional_access_boundary_lookup_required()


def _credentials() -> service_account.Credentials:
    info = _service_account_info()
    try:
        return _Credentials.from_service_account_info(info, scopes=SCOPES)
    except (ValueError, KeyError, TypeError) as exc:
        reason = _redact(str(exc))[:200]
        raise ImproperlyConfigured(f"GOOGLE_SERVICE_ACCOUNT_KEY holds no usable key: {reason}") from None


def _redact(text: str) -> str:
    """A message never carries a PEM block, whatever library wrote it."""
    return _PEM.sub("[redacted key]", text)


# -- the client ------------------------------------------------------------------------------------------------
class Pacer:
    """At most `per_minute` requests in any 60 seconds: Google allows 60 a minute per user (reads and
    writes apart). Counts this sync's requests only; a 429 from other syncs' share is retried later."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, sleep=time.sleep) -> None:
        self.per_minute = per_minute
        self.clock, self.sleep = clock, sleep
        self.sent: collections.deque[float] = collections.deque()
        self.count = 0

    def wait(self) -> None:
        now = self.clock()
        while self.sent and now - self.sent[0] >= 60:
            self.sent.popleft()
        if len(self.sent) >= self.per_minute:
            self.sleep(60 - (now - self.sent[0]))
            self.sent.popleft()
        self.sent.append(self.clock())
        self.count += 1


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client, sent to SHEETS_API_URL when set (an emulator, a proxy, a test's fake)
    instead of Google, and paced by a Pacer. Every gspread call goes through `request`."""

    def __init__(self, auth, session=None) -> None:
        super().__init__(auth, session)
        self.base_url = settings.SHEETS_API_URL.rstrip("/")
        self.pacer = Pacer(settings.SHEETS_REQUESTS_PER_MINUTE, clock=_clock, sleep=_sleep)

    def request(self, method: str, endpoint: str, *args, **kwargs) -> requests.Response:
        if self.base_url and endpoint.startswith(GOOGLE_SHEETS_URL):
            endpoint = self.base_url + endpoint.removeprefix(GOOGLE_SHEETS_URL)
        self.pacer.wait()
        return super().request(method, endpoint, *args, **kwargs)


def _clock() -> float:
    return time.monotonic()


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def sheets_client() -> gspread.Client:
    client = gspread.Client(auth=_credentials(), http_client=SheetsHTTPClient)
    client.set_timeout(TIMEOUT)
    return client


# -- configuration ---------------------------------------------------------------------------------------------
def spreadsheet_key(value: str) -> str:
    """The key of a Google Sheets URL, or the key itself; ValidationError for anything else."""
    value = value.strip()
    if match := _URL_KEY.match(value):
        return match[1]
    if _KEY.match(value):
        return value
    raise ValidationError(
        "Paste the sheet's address (https://docs.google.com/spreadsheets/d/…) or its key.", code="invalid"
    )


def spreadsheet_url(key: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{key}/edit"


def sheet_columns_validate(columns: Iterable[str]) -> list[str]:
    """The columns in order with the lead id first (added when missing); empty means the default set."""
    columns = [str(column).strip() for column in columns if str(column).strip()]
    if unknown := [column for column in columns if column not in SHEET_COLUMNS]:
        raise ValidationError(
            "Unknown column%(s)s: %(unknown)s. Choose from: %(known)s.",
            code="unknown_column",
            params={
                "s": "s" if len(unknown) > 1 else "",
                "unknown": ", ".join(unknown),
                "known": ", ".join(SHEET_COLUMNS),
            },
        )
    if duplicates := sorted({column for column in columns if columns.count(column) > 1}):
        raise ValidationError(
            "Each column once: %(columns)s appear twice.",
            code="duplicate_column",
            params={"columns": ", ".join(duplicates)},
        )
    if not columns:
        return []
    return ["id", *[column for column in columns if column != "id"]]


@transaction.atomic
def sheet_sync_configure(
    *, campaign: Campaign, spreadsheet: str, worksheet: str, columns: list[str], enabled: bool, actor
) -> SheetSync:
    errors: dict[str, list[str]] = {}
    try:
        key = spreadsheet_key(spreadsheet)
    except ValidationError as exc:
        errors["spreadsheet"] = exc.messages
    try:
        columns = sheet_columns_validate(columns)
    except ValidationError as exc:
        errors["columns"] = exc.messages
    worksheet = worksheet.strip() or "Leads"
    if len(worksheet) > 100:
        errors["worksheet"] = ["A worksheet name has at most 100 characters."]
    if errors:
        raise ValidationError(errors)
    sync = SheetSync.objects.select_for_update().filter(campaign=campaign).first() or SheetSync(campaign=campaign)
    moved = (sync.spreadsheet, sync.worksheet) != (key, worksheet)
    sync.spreadsheet, sync.worksheet, sync.columns, sync.enabled = key, worksheet, columns, enabled
    fields = ["spreadsheet", "worksheet", "columns", "enabled"]
    if moved and sync.status not in _BUSY:  # the old sheet's result says nothing about the new one
        sync.status, sync.last_error, sync.last_synced_at, sync.rows_synced = SheetSync.Status.IDLE, "", None, 0
        fields += ["status", "last_error", "last_synced_at", "rows_synced"]
    if sync.pk:
        sync.save(update_fields=fields)
    else:
        sync.save()
    activity_record(
        verb="campaign.sheet_configured",
        campaign=campaign,
        actor=actor,
        spreadsheet=key,
        worksheet=worksheet,
        columns=columns,
        enabled=enabled,
    )
    return sync


def _stale() -> Q:
    """A run claimed so long ago that its worker must have died (killed, out of memory)."""
    since = clock.now() - dt.timedelta(minutes=settings.SHEET_SYNC_STALE_MINUTES)
    return Q(status=SheetSync.Status.RUNNING, claimed_at__lt=since)


# -- queueing --------------------------------------------------------------------------------------------------
@transaction.atomic
def sheet_sync_request(*, campaign: Campaign, actor=None) -> bool:
    """Queue a sync on commit; False when not configured, disabled, or one is already queued or running."""
    from leads.tasks import sheet_sync_task

    if not service_account_email():
        return False
    queued = (
        SheetSync.objects.filter(campaign=campaign, enabled=True)
        .filter(~Q(status__in=_BUSY) | _stale())
        .update(status=SheetSync.Status.QUEUED)
    )
    if not queued:
        return False
    if actor is not None:  # the hourly run would fill the timeline; a person asking is worth a line
        activity_record(verb="campaign.sheet_sync_requested", campaign=campaign, actor=actor)
    sheet_sync_task.delay_on_commit(campaign.pk)
    return True


def sheets_sync_request_all() -> int:
    """The hourly run: every enabled sheet of an active campaign; returns how many were queued."""
    syncs = SheetSync.objects.filter(enabled=True, campaign__status=Campaign.Status.ACTIVE).select_related("campaign")
    return sum(sheet_sync_request(campaign=sync.campaign) for sync in syncs)


# -- the sync --------------------------------------------------------------------------------------------------
def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


_VALUES: dict[str, Callable[[Lead], Any]] = {
    "id": lambda lead: lead.pk,
    "company": lambda lead: lead.company.name if lead.company else "",
    "score": lambda lead: "" if lead.effective_score is None else lead.effective_score,
    "status": lambda lead: lead.get_status_display(),
    "owner": lambda lead: display_name(lead.owner),
    "last_contacted": lambda lead: _when(lead.last_contacted_at),
    "replied": lambda lead: _when(lead.last_replied_at),
    "created_at": lambda lead: _when(lead.created_at),
}


def _value(lead: Lead, column: str) -> Any:
    if column in _VALUES:
        return _VALUES[column](lead)
    value = getattr(lead, column)
    return "" if value is None else str(value)


def _leads_for_sheet(campaign_id: int) -> QuerySet[Lead]:
    last_sent = OutreachMessage.objects.filter(lead=OuterRef("pk"), status=OutreachMessage.Status.SENT)
    last_reply = InboundMessage.objects.filter(lead=OuterRef("pk"))
    return (
        Lead.objects.filter(in_campaign(campaign_id))  # its own leads and the people who joined it
        .select_related("company", "owner")
        .annotate(
            last_contacted_at=Subquery(last_sent.order_by("-sent_at").values("sent_at")[:1]),
            last_replied_at=Subquery(last_reply.order_by("-received_at").values("received_at")[:1]),
        )
        .order_by("pk")
    )


def _chunks(items: list, size: int = ROWS_PER_REQUEST) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _id_key(value: Any) -> str:
    """Column A as Google returns it: 17, 17.0 or "17" are all lead 17."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _worksheet(client: gspread.Client, sync: SheetSync, width: int) -> gspread.Worksheet:
    spreadsheet = client.open_by_key(spreadsheet_key(sync.spreadsheet))  # the admin may hold a URL
    try:
        worksheet = spreadsheet.worksheet(sync.worksheet)
    except gspread.WorksheetNotFound:
        return spreadsheet.add_worksheet(sync.worksheet, rows=1000, cols=max(NEW_SHEET_COLUMNS, width))
    if worksheet.col_count < width:  # someone narrowed the sheet: writes past its grid are refused
        worksheet.resize(cols=width)
    return worksheet


def sheet_upsert(worksheet: gspread.Worksheet, header: list[str], rows: list[list[Any]]) -> None:
    """Rows whose id is in column A are rewritten where they are (people sort and insert rows);
    the others are appended. Column A is read again every time for that reason."""
    ids = worksheet.col_values(1, value_render_option=ValueRenderOption.unformatted)
    row_of = {_id_key(value): number for number, value in enumerate(ids, start=1) if _id_key(value)}
    last = rowcol_to_a1(1, len(header)).rstrip("0123456789")
    updates, appends = [], []
    if header[0] in row_of:  # keeps the labels right when the columns change
        updates.append({"range": f"A{row_of[header[0]]}:{last}{row_of[header[0]]}", "values": [header]})
    elif not any(_id_key(value) for value in ids):
        worksheet.update([header], "A1", value_input_option=ValueInputOption.raw)
        worksheet.freeze(rows=1)  # sorting in the browser then leaves the header where it is
    for row in rows:
        if number := row_of.get(_id_key(row[0])):
            updates.append({"range": f"A{number}:{last}{number}", "values": [row]})
        else:
            appends.append(row)
    for chunk in _chunks(updates):
        worksheet.batch_update(chunk, value_input_option=ValueInputOption.raw)
    for chunk in _chunks(appends):
        # INSERT_ROWS: never over anything a person typed below the table.
        worksheet.append_rows(
            chunk, value_input_option=ValueInputOption.raw, insert_data_option=InsertDataOption.insert_rows
        )


def _classify(exc: Exception, email: str) -> SheetsRetryLater | SheetsRefused | None:
    """What an error from Google means for this sync; None for anything unexpected (a bug)."""
    share = f"Share the sheet with {email} as an Editor."
    if isinstance(exc, gspread.SpreadsheetNotFound):
        return SheetsRefused(f"Google cannot find this spreadsheet: check its address. {share}")
    if isinstance(exc, PermissionError):  # gspread's open_by_key turns a 403 into this
        return SheetsRefused(f"Google refused access to the spreadsheet. {share}")
    if isinstance(exc, gspread.exceptions.APIError):
        status = exc.response.status_code
        message = _redact(str(exc.error.get("message", "")))[:200]
        if status == 429:
            return SheetsRetryLater("Google Sheets' request quota is used up for now (429).")
        if status >= 500:
            return SheetsRetryLater(f"Google Sheets had an error ({status}).")
        if status == 403:
            return SheetsRefused(f"Google refused to let the service account edit the spreadsheet. {share}")
        if status == 404:
            return SheetsRefused(f"Google cannot find this spreadsheet: check its address. {share}")
        if status == 401:
            return SheetsRefused("Google refused the service account's token: check GOOGLE_SERVICE_ACCOUNT_KEY.")
        return SheetsRefused(f"Google Sheets refused the request ({status}): {message}")
    if isinstance(exc, auth_exceptions.RefreshError):
        if exc.retryable:
            return SheetsRetryLater("Google's sign-in service had an error.")
        reason = _redact(str(exc.args[0]) if exc.args else "")[:150].rstrip(".")
        return SheetsRefused(
            "Google refused the service account's key (deleted or disabled account, revoked key?): "
            f"{reason}. Check GOOGLE_SERVICE_ACCOUNT_KEY."
        )
    if isinstance(exc, auth_exceptions.TransportError | requests.RequestException):
        return SheetsRetryLater(f"Could not reach Google ({type(exc).__name__}).")
    if isinstance(exc, ImproperlyConfigured):
        return SheetsRefused(str(exc))
    if isinstance(exc, ValidationError):  # stored settings the admin edited by hand
        return SheetsRefused(f"The sheet settings need fixing: {' '.join(exc.messages)}")
    return None


def _finish(sync: SheetSync, status: str, error: str = "", **fields) -> None:
    SheetSync.objects.filter(pk=sync.pk).update(status=status, last_error=_redact(error)[:500], **fields)


def _record_failure(sync: SheetSync, exc: Exception, *, final_attempt: bool) -> None:
    """Say on the SheetSync why the sync stopped; raise SheetsRetryLater when a retry may help."""
    outcome = _classify(exc, service_account_email())
    if outcome is None:
        _finish(sync, SheetSync.Status.FAILED, f"The sync stopped on an unexpected error ({type(exc).__name__}).")
        raise exc
    message = str(outcome)
    if isinstance(outcome, SheetsRetryLater) and not final_attempt:
        _finish(sync, SheetSync.Status.RETRYING, f"{message} Trying again shortly.")
        logger.warning("Sheet sync for campaign %s will retry: %s", sync.campaign_id, message)
        raise outcome from None
    if isinstance(outcome, SheetsRetryLater):
        message = f"{message} Gave up after several tries; the next hourly sync tries again."
    _finish(sync, SheetSync.Status.FAILED, message)
    activity_record(verb="campaign.sheet_sync_failed", campaign=sync.campaign, error=message)
    logger.warning("Sheet sync for campaign %s failed: %s", sync.campaign_id, message)


def sheet_sync_run(*, campaign_id: int, final_attempt: bool = False) -> int:
    """Upsert the campaign's leads into its sheet; the number of lead rows written.

    Raises SheetsRetryLater when Google may succeed later (the task retries), unless this is the
    final attempt: then, as for every refusal, the sync is marked failed with a message saying why.
    """
    sync = SheetSync.objects.select_related("campaign").filter(campaign_id=campaign_id).first()
    if sync is None:
        return 0
    claimed = SheetSync.objects.filter(pk=sync.pk, enabled=True).filter(~Q(status=SheetSync.Status.RUNNING) | _stale())
    if not claimed.update(status=SheetSync.Status.RUNNING, claimed_at=clock.now()):
        if not sync.enabled:  # switched off after it was queued: let it rest
            waiting = SheetSync.objects.filter(
                pk=sync.pk, status__in=[SheetSync.Status.QUEUED, SheetSync.Status.RETRYING]
            )
            waiting.update(status=SheetSync.Status.IDLE)
        else:
            logger.info("Sheet sync for campaign %s is already running; leaving it alone", campaign_id)
        return 0
    try:
        columns = sheet_columns_validate(sync.columns) or DEFAULT_SHEET_COLUMNS
        header = [SHEET_COLUMNS[column] for column in columns]
        rows = [[_value(lead, column) for column in columns] for lead in _leads_for_sheet(campaign_id)]
        client = sheets_client()
        sheet_upsert(_worksheet(client, sync, len(header)), header, rows)
    except Exception as exc:
        _record_failure(sync, exc, final_attempt=final_attempt)
        return 0
    _finish(sync, SheetSync.Status.OK, last_synced_at=clock.now(), rows_synced=len(rows))
    requests_made = client.http_client.pacer.count
    logger.info("Sheet sync for campaign %s: %s rows in %s requests", campaign_id, len(rows), requests_made)
    return len(rows)
