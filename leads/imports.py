"""CSV lead import: read a file the way real exports write it (leads.csvread), guess its columns
and check every row (leads.csvrows), then store the good rows in one transaction, merging people
already known (here).

The phases are: `import_inspect` (at upload: encoding, delimiter, header, mapping guess),
`csv_import_start` (the person confirmed the mapping), `csv_import_run` (the worker: read and
check every row, then write everything at once). A failed run stores nothing.

Memory follows the people in the file, not the file: the upload reads only its first part as
text (the rest is only decoded, a chunk at a time), and the worker reads the stored file in
chunks, keeps of each row the checked person and its dedupe keys, and reads the rows it writes
again, a batch at a time.
"""

import csv
import datetime as dt
import io
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Length, Substr

from campaigns.models import Campaign
from hooks.events import import_finished
from leads.csvread import (
    MESSAGE_BINARY,
    MESSAGE_EMPTY,
    MESSAGE_HEADER_ONLY,
    MESSAGE_NO_COLUMNS,
    PREVIEW_BYTES,
    ImportFileError,
    _chunks,
    decode_prefix,
    detect_encoding,
    read_table,
    sniff_delimiter,
    text_lines,
)
from leads.csvrows import IDENTITY_FIELDS, NAME_FIELDS, Person, Problem, check_row, guess_mapping
from leads.dedupe import DETAILS, KEYS, name_key
from leads.enrolments import NOT_ENROLLED
from leads.models import Activity, Company, Enrolment, ImportJob, Lead, Suppression
from leads.suppression import suppression_hash
from reporting.metrics import metrics_record_found
from reporting.models import LeadMilestone
from salesdept import clock
from salesdept.csvsafe import spreadsheet_row
from salesdept.db import ANALYZE_AFTER_ROWS, analyze, bulk_insert
from salesdept.ratelimit import rate_limit_take

log = logging.getLogger(__name__)

BATCH = 1000  # rows per query and per bulk write: queries grow with rows / BATCH, never per row
PREVIEW_ROWS = 10
PROGRESS_SECONDS = 24 * 3600

MESSAGE_CONFLICT = (
    "Some of these people were stored by someone else while the import ran, so nothing was imported. "
    "Start the import again: people already stored will be merged, not duplicated."
)
MESSAGE_CRASH = "The import stopped on an unexpected error, so nothing was imported. Try again, or tell an admin."


# At upload


@dataclass
class Inspection:
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: dict[str, str]


def import_inspect(data: bytes) -> Inspection:
    """Check an uploaded file can be imported; raises ImportFileError with the reason when not.

    Only the first part of the file is read as text; the rest is only checked to decode, a chunk at
    a time. Its rows are checked by the worker, which reports those it leaves out.
    """
    if not data or data.isspace():
        raise ImportFileError(MESSAGE_EMPTY)
    if len(data) > settings.CSV_IMPORT_MAX_BYTES:
        raise ImportFileError(too_large_message())
    encoding = detect_encoding(data)
    text, whole = decode_prefix(data, encoding)
    if whole and not text.strip():
        raise ImportFileError(MESSAGE_EMPTY)
    delimiter = sniff_delimiter(text)
    # The header and a first row are in the first part of the file, unless the rows are huge.
    table = read_table(text, delimiter)
    has_rows = next(table.rows, None) is not None
    if not has_rows and not whole:
        table = read_table(text_lines(_chunks(data), encoding)[0], delimiter)
        has_rows = next(table.rows, None) is not None
    if not has_rows:
        raise ImportFileError(MESSAGE_HEADER_ONLY)
    mapping = guess_mapping(table.headers)
    if not any(name in mapping for name in (*NAME_FIELDS, *IDENTITY_FIELDS)):
        raise ImportFileError(MESSAGE_NO_COLUMNS)
    return Inspection(encoding=encoding, delimiter=delimiter, headers=table.headers, mapping=mapping)


def max_size_label() -> str:
    limit = settings.CSV_IMPORT_MAX_BYTES
    return f"{limit / 1024 / 1024:.0f} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def too_large_message() -> str:
    return f"The file is larger than {max_size_label()}: split it into smaller files and import them one by one."


def import_preview(job: ImportJob) -> list[tuple[int, list[str]]]:
    """The first rows as the import reads them, padded to the header's width, with their row numbers."""
    text, whole = decode_prefix(StoredFile(job.pk).prefix(PREVIEW_BYTES + 1), job.encoding, PREVIEW_BYTES)
    width = len(job.headers)
    table = read_table(text, job.delimiter)
    rows = [(number, (row + [""] * width)[:width]) for number, row in islice(table.rows, PREVIEW_ROWS + 1)]
    if not whole and len(rows) <= PREVIEW_ROWS:
        rows = rows[:-1]  # the last row may be cut where the preview's bytes end
    return rows[:PREVIEW_ROWS]


@transaction.atomic
def csv_import_create(*, user, file_name: str, data: bytes, campaign: Campaign | None) -> ImportJob:
    """Keep an uploaded file, checked, with its guessed mapping; the person confirms it next."""
    rate_limit_take(user=user, action="import", error=ImportFileError)  # before the work of reading it
    inspection = import_inspect(data)
    job = ImportJob.objects.create(
        created_by=user,
        campaign=campaign,
        file_name=file_name[:255],
        data=b"" if connection.vendor == "postgresql" else data,
        encoding=inspection.encoding,
        delimiter=inspection.delimiter,
        headers=inspection.headers,
        mapping=inspection.mapping,
    )
    if connection.vendor == "postgresql":
        StoredFile(job.pk).store(data)
    return job


class StoredFile:
    """An import's file where it is kept (the job's row), read and written in chunks, never whole."""

    CHUNK = 4 * 1024 * 1024  # a query each: few queries, little memory

    def __init__(self, job_id: int, *, head: bytes | None = None):
        self.job_id = job_id
        self.head = head  # the first chunk, when already read: a file that fits in it is read once

    def store(self, data: bytes) -> None:
        """On PostgreSQL, as a binary parameter: Django binds parameters into the SQL text, where
        the bytes would be written out as hex, twice their size, plus copies."""
        import psycopg

        connection.ensure_connection()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute("UPDATE leads_importjob SET data = %b WHERE id = %s", [data, self.job_id])

    def prefix(self, size: int) -> bytes:
        return self._slice(1, size)

    def chunks(self) -> Iterator[bytes]:
        start = 1
        while chunk := self.head if start == 1 and self.head is not None else self._slice(start, self.CHUNK):
            yield chunk
            if len(chunk) < self.CHUNK:
                return
            start += len(chunk)

    def _slice(self, start: int, size: int) -> bytes:
        with connection.cursor() as cursor:
            cursor.execute("SELECT substr(data, %s, %s) FROM leads_importjob WHERE id = %s", [start, size, self.job_id])
            value = cursor.fetchone()[0]
        return bytes(value) if value else b""


@transaction.atomic
def csv_import_start(*, job: ImportJob, mapping: dict[str, str]) -> bool:
    """Queue the import with the person's mapping; False when it was already started."""
    from leads.tasks import csv_import_run_task

    if not ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.QUEUED, mapping=mapping
    ):
        return False
    job.status, job.mapping = ImportJob.Status.QUEUED, mapping
    csv_import_run_task.delay_on_commit(job.pk)
    return True


# Progress: the write transaction hides ImportJob updates from the page, the cache does not.


def _progress_key(job_id: int) -> str:
    return f"leads:import:{job_id}:progress"


@dataclass
class Progress:
    job_id: int
    phase: str = "reading"
    total: int = 0
    processed: int = 0
    saved: int = 0
    to_save: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    errors: int = 0

    def publish(self) -> None:
        cache.set(_progress_key(self.job_id), self.__dict__.copy(), PROGRESS_SECONDS)


PHASES = {
    "reading": "Reading the file",
    "checking": "Checking rows",
    "saving": "Saving leads",
}


def import_progress(job: ImportJob) -> dict:
    """Counts for the progress page: live from the worker while it runs, from the job once it ended."""
    if job.status == ImportJob.Status.RUNNING and (live := cache.get(_progress_key(job.pk))):
        progress = dict(live)
    else:
        progress = {
            "phase": job.status,
            "total": job.total_rows,
            "processed": job.processed_rows,
            "saved": 0,
            "to_save": 0,
            "created": job.created_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
        }
    progress["phase_label"] = PHASES.get(progress["phase"], "")
    # The bar: rows checked while checking, leads written while saving, full once it ended.
    if progress["phase"] == "saving":
        progress["bar"], progress["bar_max"] = progress["saved"], max(progress["to_save"], 1)
    elif job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        progress["bar"], progress["bar_max"] = 1, 1
    else:
        progress["bar"], progress["bar_max"] = progress["processed"], max(progress["total"], 1)
    return progress


def import_qualification(job: ImportJob) -> dict:
    """Where the import's new leads stand in qualification, and why those a person should check are flagged.

    A lead whose qualification failed is classified by the template and flagged, never left `New`
    in silence; this is how the person who imported the file sees it.
    """
    leads = Lead.objects.filter(source_ref__startswith=f"import:{job.pk}:")
    counts = leads.aggregate(
        waiting=Count("pk", filter=Q(status=Lead.Status.NEW)),
        qualified=Count("pk", filter=Q(status=Lead.Status.QUALIFIED)),
        disqualified=Count("pk", filter=Q(status=Lead.Status.DISQUALIFIED)),
        to_check=Count("pk", filter=~Q(review_reason="")),
    )
    reasons = list(leads.exclude(review_reason="").values_list("review_reason", flat=True).distinct()[:5])
    return {**counts, "reasons": reasons}


# The error report


class ErrorReport:
    """CSV: the row number in the file, the column, the problem, then the row's values."""

    def __init__(self, headers: list[str]):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.writer.writerow(spreadsheet_row(["Row", "Column", "Problem", *headers]))
        self.rows = 0

    def add(self, person: Person, problems: Iterable[Problem]) -> None:
        for column, problem in problems:
            self.writer.writerow(spreadsheet_row([person.row, column, problem, *person.raw.values()]))
        self.rows += 1

    def text(self) -> str:
        return self.buffer.getvalue() if self.rows else ""


# The import


@dataclass
class Plan:
    """Every checked row, decided before anything is written."""

    new: list[Person] = field(default_factory=list)
    merges: list[tuple[Lead, Person, list[str]]] = field(default_factory=list)
    adopt: list[int] = field(default_factory=list)  # existing leads with no campaign or owner yet
    enrol: list[int] = field(default_factory=list)  # known people of another campaign who join this one
    companies: dict[tuple[str, str], Company] = field(default_factory=dict)


def _batches(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Rows:
    """The rows under the header, read from the stored file a chunk at a time."""

    def __init__(self, job: ImportJob, stored: StoredFile):
        self.job = job
        self.lines, self.stream = text_lines(stored.chunks(), job.encoding)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            yield from read_table(self.lines, self.job.delimiter).rows
        except UnicodeDecodeError:  # checked at upload: only a file changed since could fail here
            raise ImportFileError(MESSAGE_BINARY) from None


def _raw(values: list[str], headers: list[str]) -> dict[str, str]:
    """The row as a lead's raw profile and the error report show it: a value per column."""
    width = len(headers)
    return dict(zip(headers, (values + [""] * width)[:width], strict=True))


def _with_raw(job: ImportJob, stored: StoredFile, people: Iterable[Person]) -> Iterator[Person]:
    """The people (in file order) with their rows read again: one more pass over the file, instead
    of every row held in memory from the first."""
    rows = iter(_Rows(job, stored))
    for person in people:
        for number, values in rows:
            if number == person.row:
                person.raw = _raw(values, job.headers)
                yield person
                break


NO_ROW: dict[str, str] = {}  # a Person's row once it was checked; never written to

# Values many rows share (a title, a city, a company): held once, not once per row.
SHARED_FIELDS = ("last_name", "position", "company_name", "company_domain", "industry", "location", "seniority")


def _check_all(job: ImportJob, stored: StoredFile, progress: Progress, report: ErrorReport) -> list[Person]:
    """Every row of the file checked as it is read; bad rows go to the report. Duplicates in the file
    fold into the first. Of a good row only what it becomes is kept, not the row."""
    progress.phase = "checking"
    progress.publish()
    folding = _Folding(progress)
    rows = _Rows(job, stored)
    for number, values in rows:
        person, problems = check_row(number, values, job.headers, job.mapping)
        if problems:
            report.add(person, problems)
            progress.errors += 1
        else:
            person.raw = NO_ROW  # read again when it is written
            for name in SHARED_FIELDS:
                setattr(person, name, sys.intern(getattr(person, name)))
            folding.add(person)
        progress.processed += 1
        if progress.processed % BATCH == 0:
            # How many rows there are is known at the end: until then, estimated from the bytes read.
            estimate = progress.processed * job.file_size / max(rows.stream.read_bytes, 1)
            progress.total = max(progress.processed, round(estimate))
            progress.publish()
    progress.total = progress.processed
    progress.publish()
    return folding.kept


class _Folding:
    """One Person per person in the file: a later row with a key already seen fills the first's blanks."""

    def __init__(self, progress: Progress):
        # A dict per kind of key, holding the person's own strings: no key objects per row.
        self.first_by: dict[str, dict[str, Person]] = {"linkedin_url": {}, "email": {}, "name_key": {}}
        self.kept: list[Person] = []
        self.progress = progress

    def add(self, person: Person) -> None:
        first_by = self.first_by
        first = next((first_by[name][value] for name, value in person.dedupe_keys() if value in first_by[name]), None)
        if first is None:
            self.kept.append(person)
            for name, value in person.dedupe_keys():
                first_by[name][value] = person
            return
        first.merged_rows += (person.row,)
        self.progress.merged += 1
        for name in (*DETAILS, "company_name", "company_domain", "industry"):
            if not getattr(first, name) and getattr(person, name):
                setattr(first, name, getattr(person, name))
        if first.employees is None:
            first.employees = person.employees
        for name in KEYS:
            value = getattr(person, name)
            if value and not getattr(first, name) and value not in first_by[name]:
                setattr(first, name, value)
                first_by[name][value] = first
        if not first.name_key:
            first.name_key = name_key(first.first_name, first.last_name, first.company_name)
            if first.name_key:
                first_by["name_key"].setdefault(first.name_key, first)


def _suppressed(people: list[Person]) -> set[int]:
    """The ids of the people on the do-not-contact list, looked up in bulk."""
    suppressed: set[int] = set()
    for batch in _batches(people):
        hashes: dict[str, list[Person]] = {}
        for person in batch:
            keys = []
            if person.email:
                keys += [(Suppression.Kind.EMAIL, person.email), (Suppression.Kind.EMAIL_DOMAIN, person.email)]
            if person.linkedin_url:
                keys.append((Suppression.Kind.LINKEDIN, person.linkedin_url))
            for kind, value in keys:
                hashes.setdefault(suppression_hash(kind, value), []).append(person)
        for value_hash in Suppression.objects.filter(value_hash__in=list(hashes)).values_list("value_hash", flat=True):
            suppressed.update(id(person) for person in hashes[value_hash])
    return suppressed


def _drop_suppressed(
    job: ImportJob, stored: StoredFile, people: list[Person], report: ErrorReport, progress: Progress
) -> list[Person]:
    """People on the do-not-contact list are left out, with the reason in the report."""
    suppressed = _suppressed(people)
    if not suppressed:
        return people
    for person in _with_raw(job, stored, (person for person in people if id(person) in suppressed)):
        report.add(person, [("", "On the do-not-contact list: not imported")])
        progress.skipped += 1 + len(person.merged_rows)
        progress.merged -= len(person.merged_rows)
    return [person for person in people if id(person) not in suppressed]


LOOKUP_FIELDS = (
    "pk",
    "first_name",
    "last_name",
    "company_id",
    "linkedin_url",
    "email",
    "name_key",
    "campaign_id",
    "owner_id",
    "status",
    *DETAILS,
)


def _existing_leads(people: list[Person]) -> dict[tuple[str, str], Lead]:
    """Leads already stored under any key of `people`, oldest first for a shared name key."""
    found: dict[tuple[str, str], Lead] = {}
    by_pk: dict[int, Lead] = {}
    for key_field in ("linkedin_url", "email", "name_key"):
        values = list({value for person in people for name, value in person.dedupe_keys() if name == key_field})
        for batch in _batches(values):
            leads = (
                Lead.objects.filter(**{f"{key_field}__in": batch})
                .select_related("company")
                .only(*LOOKUP_FIELDS, "company__name")
                .order_by("pk")
            )
            for lead in leads:
                lead = by_pk.setdefault(lead.pk, lead)  # one object per lead, so merges add up
                for name, value in (("linkedin_url", lead.linkedin_url), ("email", lead.email)):
                    if value:
                        found.setdefault((name, value), lead)
                if lead.name_key:
                    found.setdefault(("name_key", lead.name_key), lead)
    return found


def _merge(lead: Lead, person: Person, known: dict[tuple[str, str], Lead], company: Company | None) -> list[str]:
    """Fill the lead's blanks from the row (never overwrite); the fields filled."""
    filled = []
    for name in DETAILS:
        if not getattr(lead, name) and getattr(person, name):
            setattr(lead, name, getattr(person, name))
            filled.append(name)
    for name in KEYS:
        value = getattr(person, name)
        # An address another lead holds stays with that lead.
        if value and not getattr(lead, name) and (name, value) not in known:
            setattr(lead, name, value)
            known[(name, value)] = lead
            filled.append(name)
    if lead.company_id is None and company is not None:
        lead.company = company
        filled.append("company")
    company_name = lead.company.name if lead.company_id else ""
    if not lead.name_key and (key := name_key(lead.first_name, lead.last_name, company_name)):
        lead.name_key = key
        filled.append("name_key")
    return sorted(filled)


def _company_key(person: Person) -> tuple[str, str] | None:
    if not person.company_name:
        return None
    return ("domain", person.company_domain) if person.company_domain else ("name", person.company_name)


def _companies(people: list[Person]) -> dict[tuple[str, str], Company]:
    """The company of each person, reused by domain (or by exact name without a domain), else created."""
    wanted: dict[tuple[str, str], Person] = {}
    for person in people:
        if key := _company_key(person):
            wanted.setdefault(key, person)
    found: dict[tuple[str, str], Company] = {}
    domains = [value for kind, value in wanted if kind == "domain"]
    names = [value for kind, value in wanted if kind == "name"]
    for batch in _batches(domains):
        for company in Company.objects.filter(domain__in=batch):
            found[("domain", company.domain)] = company
    for batch in _batches(names):
        for company in Company.objects.filter(domain="", name__in=batch).order_by("pk"):
            found.setdefault(("name", company.name), company)
    missing = [
        Company(
            name=person.company_name,
            domain=person.company_domain,
            industry=person.industry,
            employees=person.employees,
        )
        for key, person in wanted.items()
        if key not in found
    ]
    for company in Company.objects.bulk_create(missing, batch_size=BATCH):
        found[("domain", company.domain) if company.domain else ("name", company.name)] = company
    return found


def _plan(people: list[Person], known: dict[tuple[str, str], Lead], job: ImportJob) -> Plan:
    plan = Plan()
    merging: list[tuple[Lead, Person]] = []
    adopting: set[int] = set()
    for person in people:
        lead = next((known[key] for key in person.dedupe_keys() if key in known), None)
        if lead is None:
            plan.new.append(person)
        else:
            merging.append((lead, person))
    needs_company = plan.new + [person for lead, person in merging if lead.company_id is None]
    plan.companies = _companies(needs_company)
    for lead, person in merging:
        company_key = _company_key(person)
        company = plan.companies.get(company_key) if company_key else None
        fields = _merge(lead, person, known, company)
        plan.merges.append((lead, person, fields))
        if (
            job.campaign_id
            and lead.campaign_id is None
            and lead.owner_id is None
            and lead.status == Lead.Status.NEW
            and lead.pk not in adopting
        ):
            adopting.add(lead.pk)
            plan.adopt.append(lead.pk)
        elif _enrols(lead, job) and lead.pk not in adopting:
            adopting.add(lead.pk)
            plan.enrol.append(lead.pk)
    return plan


def _enrols(lead: Lead, job: ImportJob) -> bool:
    """A known person of another campaign joins the import's campaign, unless they answered or opted out.

    The suppressed are already left out (_drop_suppressed); one already enrolled is left as is
    when the enrolments are written.
    """
    return bool(
        job.campaign_id
        and lead.campaign_id is not None
        and lead.campaign_id != job.campaign_id
        and lead.status not in NOT_ENROLLED
    )


def _write(job: ImportJob, stored: StoredFile, plan: Plan, progress: Progress) -> list[int]:
    """Store the plan; returns the ids of the leads that are new to the campaign."""
    now = clock.now()
    owner = None if job.campaign_id else job.created_by  # with no campaign nobody else would ever allocate them
    new_ids: list[int] = []
    progress.phase, progress.to_save, progress.saved = "saving", len(plan.new) + len(plan.merges), 0
    progress.publish()
    new = _with_raw(job, stored, plan.new)  # each row read again as its batch is written, then let go
    while batch := list(islice(new, BATCH)):
        leads = bulk_insert(
            [
                Lead(
                    first_name=person.first_name,
                    last_name=person.last_name,
                    headline=person.headline,
                    position=person.position,
                    seniority=person.seniority,
                    company=plan.companies.get(_company_key(person)) if person.company_name else None,
                    linkedin_url=person.linkedin_url or None,
                    email=person.email or None,
                    name_key=person.name_key,
                    location=person.location,
                    timezone=person.timezone,
                    campaign_id=job.campaign_id,
                    owner=owner,
                    source="csv",
                    source_ref=f"import:{job.pk}:{person.row}",
                    status=Lead.Status.NEW,
                    raw_profile=person.raw,
                )
                for person in batch
            ]
        )
        imported = bulk_insert(
            [
                Activity(
                    lead_id=lead.pk,
                    campaign_id=job.campaign_id,
                    actor_id=job.created_by_id,
                    verb="lead.imported",
                    payload={"source": "csv", "import": job.pk, "row": person.row, "file": job.file_name},
                )
                for lead, person in zip(leads, batch, strict=True)
            ]
        )
        metrics_record_found(imported, new_leads=True)  # the dashboard's "found", a batch at a time
        new_ids += [lead.pk for lead in leads]
        for person in batch:
            person.raw = NO_ROW
        progress.saved += len(batch)
        progress.created += len(batch)
        progress.publish()

    # Leads are updated in groups that filled the same fields, so no other column is written back.
    groups: dict[tuple[str, ...], dict[int, Lead]] = {}
    for lead, _, fields in plan.merges:
        if fields:
            groups.setdefault(tuple(sorted(fields)), {})[lead.pk] = lead
    for fields, leads in groups.items():
        for batch in _batches(list(leads.values())):
            for lead in batch:
                lead.updated_at = now
            Lead.objects.bulk_update(batch, [*fields, "updated_at"])
    for batch in _batches(plan.merges):
        bulk_insert(
            [
                Activity(
                    lead_id=lead.pk,
                    campaign_id=lead.campaign_id,
                    actor_id=job.created_by_id,
                    verb="lead.merged",
                    payload={"source": "csv", "import": job.pk, "fields": fields, "row": person.row},
                )
                for lead, person, fields in batch
            ]
        )
        progress.saved += len(batch)
        progress.merged += len(batch)
        progress.publish()

    adopted: list[int] = []
    for batch in _batches(plan.adopt):
        # Conditional: a lead someone took meanwhile stays where it is.
        claimable = Lead.objects.filter(pk__in=batch, campaign__isnull=True, owner__isnull=True, status=Lead.Status.NEW)
        ids = list(claimable.values_list("pk", flat=True))
        Lead.objects.filter(pk__in=ids, campaign__isnull=True, owner__isnull=True).update(
            campaign_id=job.campaign_id, updated_at=now
        )
        adopted += ids
    if job.campaign_id:
        _write_enrolments(job, home=new_ids + adopted, others=plan.enrol, now=now)
    return new_ids + adopted + plan.enrol


def _write_enrolments(job: ImportJob, *, home: list[int], others: list[int], now: dt.datetime) -> None:
    """Every lead new to the campaign is enrolled in it; known people from elsewhere get a timeline entry."""
    for batch in _batches(home):
        Enrolment.objects.bulk_create(
            [Enrolment(lead_id=pk, campaign_id=job.campaign_id, enrolled_at=now) for pk in batch], ignore_conflicts=True
        )
    for batch in _batches(others):
        already = set(
            Enrolment.objects.filter(lead_id__in=batch, campaign_id=job.campaign_id).values_list("lead_id", flat=True)
        )
        joining = [pk for pk in batch if pk not in already]
        homes = Lead.objects.filter(pk__in=joining).values_list("pk", "campaign_id")
        Enrolment.objects.bulk_create(
            [Enrolment(lead_id=pk, campaign_id=home, enrolled_at=now) for pk, home in homes]
            + [Enrolment(lead_id=pk, campaign_id=job.campaign_id, enrolled_at=now) for pk in joining],
            ignore_conflicts=True,  # a home row already there, or a search enrolling them this moment
        )
        bulk_insert(
            [
                Activity(
                    lead_id=pk,
                    campaign_id=job.campaign_id,
                    actor_id=job.created_by_id,
                    verb="lead.enrolled",
                    payload={"source": "csv", "import": job.pk},
                )
                for pk in joining
            ]
        )


def _queue_qualification(campaign: Campaign | None, lead_ids: list[int]) -> None:
    """New leads of an active campaign are qualified in chunks, once the import commits.

    Each chunk is its own small task (then an allocation, which gives out only the room reps
    have), so workers share a big import and no message carries every id.
    """
    from celery import chain

    from campaigns.tasks import campaign_allocate_task
    from leads.tasks import leads_qualify_task

    if campaign is None or campaign.status != Campaign.Status.ACTIVE or not lead_ids:
        return
    from salesdept.llm.gateway import batch_size

    # Sized so a chunk ends inside the task's time limit even on a slow one-at-a-time server.
    chunks = list(_batches(sorted(lead_ids), batch_size(calls_per_item=1)))

    def queue() -> None:
        for chunk in chunks:
            chain(leads_qualify_task.si(chunk), campaign_allocate_task.si(campaign.pk)).delay()

    transaction.on_commit(queue)


def csv_import_run(*, job_id: int) -> bool:
    """Import a queued job: check every row, then write all of it in one transaction.

    Returns False when the job was not queued (another worker has it, or it already ran).
    """
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=clock.now()
    ):
        return False
    jobs = ImportJob.objects.select_related("campaign", "created_by").defer("data")  # read in chunks
    job = jobs.annotate(file_size=Length("data"), head=Substr("data", 1, StoredFile.CHUNK)).get(pk=job_id)
    stored = StoredFile(job.pk, head=bytes(job.head or b""))
    progress = Progress(job_id=job.pk)
    progress.publish()
    report = ErrorReport(job.headers)
    try:
        people = _check_all(job, stored, progress, report)
        with transaction.atomic():
            people = _drop_suppressed(job, stored, people, report, progress)
            plan = _plan(people, _existing_leads(people), job)
            lead_ids = _write(job, stored, plan, progress)
            if len(lead_ids) >= ANALYZE_AFTER_ROWS:  # qualification and the pages read them next
                analyze(Lead, Company, Enrolment, Activity, LeadMilestone)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.DONE,
                total_rows=progress.total,
                processed_rows=progress.processed,
                created_count=progress.created,
                merged_count=progress.merged,
                skipped_count=progress.skipped,
                error_count=progress.errors,
                error_report=report.text(),
                finished_at=clock.now(),
            )
            import_finished(job_id=job.pk)
            _queue_qualification(job.campaign, lead_ids)
    except IntegrityError:
        log.warning("CSV import %s hit a unique constraint; rolled back", job.pk, exc_info=True)
        _fail(job, progress, MESSAGE_CONFLICT)
    except ImportFileError as exc:  # a row past the part checked at upload cannot be read
        _fail(job, progress, str(exc))
    except Exception:
        log.exception("CSV import %s failed; rolled back", job.pk)
        _fail(job, progress, MESSAGE_CRASH)
    finally:
        cache.delete(_progress_key(job.pk))
    return True


def _fail(job: ImportJob, progress: Progress, reason: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED,
        failure=reason,
        total_rows=progress.total,
        processed_rows=progress.processed,
        created_count=0,
        merged_count=0,
        skipped_count=0,
        error_count=0,
        finished_at=clock.now(),
    )
    import_finished(job_id=job.pk)


def import_duration(job: ImportJob) -> dt.timedelta | None:
    if job.started_at and job.finished_at:
        return job.finished_at - job.started_at
    return None


# Past the import task's hard time limit (leads.tasks), a running job has lost its worker.
STALE_AFTER = dt.timedelta(minutes=35)
MESSAGE_LOST = (
    "The import stopped when its worker did (a restart or a crash), and nothing was stored. "
    "Upload the file again to retry."
)


def imports_fail_stale(*, now: dt.datetime | None = None) -> int:
    """Jobs left "running" by a killed worker end as failed: their transaction rolled back with it."""
    now = now or clock.now()
    return ImportJob.objects.filter(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=ImportJob.Status.FAILED, failure=MESSAGE_LOST, finished_at=now
    )
