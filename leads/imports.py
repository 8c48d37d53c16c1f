"""CSV lead import: read a file the way real exports write it, guess its columns, check every row,
then store the good rows in one transaction, merging people already known.

The phases are: `import_inspect` (at upload: encoding, delimiter, header, mapping guess),
`csv_import_start` (the person confirmed the mapping), `csv_import_run` (the worker: read and
check every row, then write everything at once). A failed run stores nothing.

Memory follows the people in the file, not the file: the upload reads only its first part as
text (the rest is only decoded, a chunk at a time), and the worker reads the stored file in
chunks, keeps of each row the checked person and its dedupe keys, and reads the rows it writes
again, a batch at a time.
"""

import codecs
import csv
import datetime as dt
import io
import logging
import re
import sys
import unicodedata
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache as memoise
from itertools import chain, islice

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Length, Substr

from campaigns.models import Campaign
from hooks.events import import_finished
from leads.dedupe import DETAILS, KEYS, name_key, normalise_email, normalise_linkedin_url
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
# Exports from Sales Navigator, Apollo and HubSpot have under 100 columns. A wider file is no lead list,
# and its preview would put every column in 17 dropdowns (60,000 columns: megabytes of HTML per page).
MAX_COLUMNS = 200
PREVIEW_BYTES = 256 * 1024
PROGRESS_SECONDS = 24 * 3600

# Lead fields a column can fill, in the order the mapping form shows them.
LEAD_FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "email": "Email",
    "linkedin_url": "LinkedIn URL",
    "position": "Job title",
    "headline": "Headline",
    "company_name": "Company",
    "company_domain": "Company website or domain",
    "industry": "Industry",
    "employees": "Employees",
    "location": "Location",
    "city": "City",
    "state": "State or region",
    "country": "Country",
    "seniority": "Seniority",
    "timezone": "Time zone",
}
NAME_FIELDS = ("first_name", "full_name")
IDENTITY_FIELDS = ("company_name", "email", "linkedin_url")

# Header spellings of common exports (LinkedIn and Sales Navigator tools, Apollo, HubSpot, plain
# sheets), comma-separated, best first, compared after header_key() (case, spaces and punctuation
# do not count). A column is used for one field only.
ALIASES: dict[str, str] = {
    "first_name": "first name, first, given name, fname, prenom, vorname",
    "last_name": "last name, surname, family name, last, lname, nom, nachname",
    "full_name": "full name, name, contact name, person name, contact, lead name",
    "email": (
        "email, email address, work email, business email, professional email, email 1, primary email, "
        "contact email, emails"
    ),
    "linkedin_url": (
        "linkedin url, person linkedin url, linkedin profile url, linkedin profile, linkedin, profile url, "
        "default profile url, linkedin profile link, li url, url, sales navigator url, sales navigator profile url"
    ),
    "position": "title, job title, position, current title, current position, role",
    "headline": "headline, linkedin headline, tagline",
    "company_name": (
        "company, company name, organization, organisation, organization name, account name, current company, "
        "employer, associated company, company name for emails"
    ),
    "company_domain": "website, company website, company domain, company domain name, domain, website url, web",
    "industry": "industry, company industry, sector",
    "employees": (
        "employees, number of employees, employee count, num employees, company headcount, headcount, company size"
    ),
    "location": "location, person location, geography",
    "city": "city, person city, town",
    "state": "state, region, province, county",
    "country": "country, person country, country region",
    "seniority": "seniority, seniority level",
    "timezone": "timezone, time zone, tz",
}

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}

# Files that are not text: zip (xlsx, docx, ods), old Office, PDF, images.
BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class ImportFileError(ValueError):
    """The file cannot be imported at all; the message is written for the person who uploaded it."""


MESSAGE_EMPTY = "The file is empty."
MESSAGE_BINARY = (
    "This looks like a spreadsheet or binary file, not CSV text: open it in your spreadsheet app and export it as CSV."
)
MESSAGE_NUL = (
    "The file holds NUL characters, which no CSV text has: open it in your spreadsheet app and export it as CSV."
)
MESSAGE_UNREADABLE = (
    "Line {line} cannot be read: {reason}. An unclosed quote makes the rest of the file one value: "
    "check that row and export the file again."
)
MESSAGE_TOO_WIDE = (
    "Row {row} has more than {limit} columns, which no lead list needs. "
    "Keep the columns you need in your spreadsheet app and export it as CSV again."
)
MESSAGE_HEADER_ONLY = "The file has a header row but no people under it."
MESSAGE_NO_COLUMNS = (
    "None of the columns look like lead details. The first row must name the columns, "
    "for example First Name, Last Name, Company, Email or LinkedIn URL."
)
MESSAGE_CONFLICT = (
    "Some of these people were stored by someone else while the import ran, so nothing was imported. "
    "Start the import again: people already stored will be merged, not duplicated."
)
MESSAGE_CRASH = "The import stopped on an unexpected error, so nothing was imported. Try again, or tell an admin."


# Reading the file


CHUNK = 1024 * 1024  # bytes decoded or fetched at a time: memory follows this, not the file's size


def _chunks(data: bytes) -> Iterator[memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        yield view[start : start + CHUNK]


def _decodes(data: bytes, encoding: str, *, forbid: str = "") -> bool:
    """Whether the whole file reads in `encoding` (without `forbid`), decoded a chunk at a time and let go."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in chain(_chunks(data), [b""]):
            text = decoder.decode(chunk, final=not chunk)
            if forbid and forbid in text:
                return False
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> str:
    """The encoding the file reads in: UTF-16 with a BOM, UTF-8 (BOM or not), Windows-1252.

    Every byte is checked, but the text is never held whole: a 50 MB upload stays 50 MB.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if not _decodes(data, "utf-16"):
            raise ImportFileError(MESSAGE_BINARY)
        if not _decodes(data, "utf-16", forbid="\x00"):  # PostgreSQL stores no NUL in text, no spreadsheet writes one
            raise ImportFileError(MESSAGE_NUL)
        return "utf-16"
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data:
        raise ImportFileError(MESSAGE_BINARY)
    for encoding in ("utf-8-sig", "cp1252"):
        if not _decodes(data, encoding):
            continue
        sample = decode_prefix(data, encoding, 65536)[0]
        if len(CONTROL_CHARS.findall(sample)) > len(sample) // 100:
            raise ImportFileError(MESSAGE_BINARY)
        return encoding
    raise ImportFileError(MESSAGE_BINARY)


def decode_prefix(data: bytes, encoding: str, size: int | None = None) -> tuple[str, bool]:
    """The first `size` bytes (PREVIEW_BYTES) as text (a character cut in two is left out), and whether
    that is all of it."""
    size = size or PREVIEW_BYTES
    whole = len(data) <= size
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(bytes(data[:size]), final=whole), whole


class _ChunkStream(io.RawIOBase):
    """Bytes arriving in chunks (from memory or the database) as a file, for io.TextIOWrapper."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._left = memoryview(b"")
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        self.read_bytes += size
        return size


def text_lines(chunks: Iterable[bytes], encoding: str) -> tuple[io.TextIOWrapper, _ChunkStream]:
    """The text as lines with their ends (newline="", as the csv module wants), decoded as it is read;
    and the stream, which counts the bytes read so far."""
    stream = _ChunkStream(chunks)
    return io.TextIOWrapper(io.BufferedReader(stream, CHUNK), encoding=encoding, newline=""), stream


def _records(text: str) -> Iterator[str]:
    """The text's records (lines, but a newline inside quotes does not end one), without line ends."""
    start, quoted, length = 0, False, len(text)
    i = 0
    while i < length:
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            yield text[start:i]
            if char == "\r" and i + 1 < length and text[i + 1] == "\n":
                i += 1
            start = i + 1
        i += 1
    if start < length:
        yield text[start:]


def _count_outside_quotes(record: str, char: str) -> int:
    count, quoted = 0, False
    for c in record:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _unwrap(record: str) -> str:
    """A record written as one quoted field ("Jane,Doe,Acme") as the fields it holds."""
    inner = record.strip()
    if len(inner) >= 2 and inner[0] == inner[-1] == '"':
        return inner[1:-1].replace('""', '"')
    return record


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon, tab or pipe: counted in the header outside quotes, then checked on the next rows.

    csv.Sniffer guesses from character frequencies and is easily fooled by commas inside values.
    """
    records = [record for record in islice(_records(text[:PREVIEW_BYTES]), 30) if record.strip()]
    if not records:
        return ","
    counts: dict[str, int] = {}
    for position, header in enumerate(records[:10]):  # a note above the header has no delimiters
        counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
        if not any(counts.values()):
            counts = {d: _count_outside_quotes(_unwrap(header), d) for d in DELIMITERS}
        if any(counts.values()):
            records = records[position:]
            break
    candidates = [d for d in DELIMITERS if counts[d]]
    if not candidates:
        return ","
    if len(candidates) == 1:
        return candidates[0]

    def agreement(delimiter: str) -> tuple[int, int]:
        width = counts[delimiter] + 1
        rows = 0
        for record in records[1:]:
            fields = _count_outside_quotes(record, delimiter) or _count_outside_quotes(_unwrap(record), delimiter)
            rows += fields + 1 == width
        return rows, counts[delimiter]

    return max(candidates, key=agreement)


def _clean_headers(row: list[str]) -> list[str]:
    """Column names as shown to people: trimmed, blanks named by position, repeats numbered."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(row, start=1):
        name = value.replace("\ufeff", "").strip() or f"Column {position}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


def _split_row(row: list[str], delimiter: str, width: int) -> list[str]:
    if len(row) == 1 and width > 1 and delimiter in row[0]:
        return next(csv.reader([row[0]], delimiter=delimiter))
    return row


def _readable(reader) -> Iterator[list[str]]:
    """The reader's rows; a row the csv module cannot read (a value over its 131,072-character limit)
    becomes an ImportFileError naming the row, for the person, instead of a crash."""
    while True:
        line = reader.line_num + 1  # where the row begins: a runaway quote is detected lines later
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = "a value is longer than 131,072 characters" if "field larger" in str(exc) else str(exc)
            raise ImportFileError(MESSAGE_UNREADABLE.format(line=line, reason=reason)) from None
        yield row


@dataclass
class Table:
    """A file as read: its column names and its rows, numbered as a spreadsheet numbers them."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    header_row: int


def read_table(text: str | Iterable[str], delimiter: str) -> Table:
    """The header (the first of the first rows that names lead columns, so a note above it is
    skipped) and an iterator over the rows under it. Blank rows are left out.

    `text` is the text, or its lines with their ends (a file opened with newline=""), read as needed.
    """
    lines = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(lines, delimiter=delimiter)
    numbered = enumerate(_readable(reader), start=1)
    leading = list(islice(numbered, 20))
    header_row, header = 0, []
    for number, row in leading:
        if not any(value.strip() for value in row):
            continue
        if len(row) > MAX_COLUMNS:  # before any work per column
            raise ImportFileError(MESSAGE_TOO_WIDE.format(row=number, limit=MAX_COLUMNS))
        candidate = _clean_headers(_split_row(row, delimiter, 2))
        if len(candidate) > MAX_COLUMNS:
            raise ImportFileError(MESSAGE_TOO_WIDE.format(row=number, limit=MAX_COLUMNS))
        if not header:
            header_row, header = number, candidate
        if len(guess_mapping(candidate)) >= 2:
            header_row, header = number, candidate
            break
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in chain(leading, numbered):
            if number <= header_row or not any(value.strip() for value in row):
                continue
            yield number, _split_row(row, delimiter, width)

    return Table(headers=header, rows=rows(), header_row=header_row)


# Guessing the mapping


def header_key(header: str) -> str:
    """Letters and digits only: "LinkedIn URL", "linkedinUrl", "Linkedin_url" → "linkedinurl"."""
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", ascii_text)


ALIAS_KEYS = {name: tuple(header_key(alias) for alias in aliases.split(",")) for name, aliases in ALIASES.items()}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Lead field → column name, from the column names alone."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(header_key(header), header)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for lead_field, aliases in ALIAS_KEYS.items():
        for alias in aliases:
            header = by_key.get(alias)
            if header and header not in taken:
                mapping[lead_field] = header
                taken.add(header)
                break
    return mapping


def mapping_problems(mapping: dict[str, str]) -> list[str]:
    """What a mapping lacks to import anyone, in plain words."""
    problems = []
    if not any(mapping.get(name) for name in NAME_FIELDS):
        problems.append("Choose the column with the first name (or the full name).")
    if not any(mapping.get(name) for name in IDENTITY_FIELDS):
        problems.append("Choose at least one of the company, email or LinkedIn URL columns.")
    return problems


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


# Checking rows


@dataclass(slots=True)
class Person:
    """One row, checked and normalised: what becomes a lead or fills one."""

    row: int
    raw: dict[str, str]
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    linkedin_url: str = ""
    position: str = ""
    headline: str = ""
    company_name: str = ""
    company_domain: str = ""
    industry: str = ""
    employees: int | None = None
    location: str = ""
    seniority: str = ""
    timezone: str = ""
    provider_id: str = ""  # no column maps to it today; a merge fills it like every other detail
    name_key: str = ""
    merged_rows: tuple[int, ...] = ()

    def dedupe_keys(self) -> Iterator[tuple[str, str]]:
        if self.linkedin_url:
            yield "linkedin_url", self.linkedin_url
        if self.email:
            yield "email", self.email
        if self.name_key:
            yield "name_key", self.name_key


# Values cut to the field's length when too long: a long headline or title loses nothing that matters.
TRUNCATED = {"position": 200, "headline": 300, "location": 200, "industry": 100, "seniority": 30}
# Values that are an identity: cut, they would name someone else, so a long one is an error.
LIMITS = {"first_name": 100, "last_name": 100, "company_name": 200, "email": 254, "linkedin_url": 300}
EMPLOYEES = re.compile(r"^(\d[\d,. ']*)\s*(?:\+|(?:-|–|to)\s*\d[\d,. ']*)?\s*(?:employees)?$", re.IGNORECASE)


@memoise
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _employees(value: str) -> int | None:
    """ "1,200", "10001+", "51-200" (the lower bound): at least this many people."""
    found = EMPLOYEES.match(value.strip())
    if not found:
        raise ValueError(value)
    return int(re.sub(r"\D", "", found.group(1)))


def _linkedin(value: str) -> str:
    """The normalised profile URL, or ValueError when it is not a linkedin.com/in/ or /sales/ URL."""
    url = normalise_linkedin_url(value)
    match = re.match(r"^https://www\.(?:[a-z]{2,3}\.)?linkedin\.com(/(?:in|sales)/[^/?#\s]+.*)$", url)
    if not match or " " in url:
        raise ValueError(value)
    return f"https://www.linkedin.com{match.group(1)}"


def _domain(value: str) -> str:
    """ "https://www.acme.com/about" → "acme.com"; "" when it is not a web address (it is not needed)."""
    text = value.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split("?")[0].split(":")[0].removeprefix("www.")
    if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", text) and not text.endswith("linkedin.com") and len(text) <= 200:
        return text
    return ""


def _split_name(full: str) -> tuple[str, str]:
    if "," in full:  # "Doe, Jane"
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.strip().partition(" ")
    return first, last.strip()


Problem = tuple[str, str]  # (column, what is wrong)


def check_row(row: int, values: list[str], headers: list[str], mapping: dict[str, str]) -> tuple[Person, list[Problem]]:
    """The row as a Person, and its problems (a row with any is not imported)."""
    width = len(headers)
    problems: list[Problem] = []
    if len(values) > width and any(value.strip() for value in values[width:]):
        problems.append(
            (
                "",
                f"This row has {len(values)} values but the header has {width} columns "
                "(a value with a comma or semicolon that is not in quotes?)",
            )
        )
    values = (values + [""] * width)[:width]
    raw = dict(zip(headers, values, strict=True))
    get = {name: raw.get(header, "").strip() for name, header in mapping.items()}.get
    person = Person(row=row, raw=raw)

    first, last = get("first_name", ""), get("last_name", "")
    if not first and (full := get("full_name", "")):
        first, split_last = _split_name(full)
        last = last or split_last
    person.first_name, person.last_name = first, last
    if not first:
        problems.append((mapping.get("first_name") or mapping.get("full_name", ""), "No first name"))

    if email := get("email", ""):
        person.email = normalise_email(email)
        try:
            validate_email(person.email)
        except ValidationError:
            problems.append((mapping["email"], f"“{email}” is not a valid email address"))
    if url := get("linkedin_url", ""):
        try:
            person.linkedin_url = _linkedin(url)
        except ValueError:
            problems.append((mapping["linkedin_url"], f"“{url}” is not a LinkedIn profile URL (linkedin.com/in/…)"))
    if employees := get("employees", ""):
        try:
            person.employees = _employees(employees)
        except ValueError:
            problems.append((mapping["employees"], f"“{employees}” is not a number of employees (like 250 or 51-200)"))
    if zone := get("timezone", ""):
        if zone in _timezones():
            person.timezone = zone
        else:
            problems.append((mapping["timezone"], f"“{zone}” is not a time zone (like Europe/Paris)"))

    person.company_name = get("company_name", "")
    person.company_domain = _domain(get("company_domain", ""))
    person.position = get("position", "")
    person.headline = get("headline", "")
    person.industry = get("industry", "")
    person.seniority = get("seniority", "")
    person.location = get("location", "") or ", ".join(
        part for part in (get("city", ""), get("state", ""), get("country", "")) if part
    )
    for name, limit in TRUNCATED.items():
        setattr(person, name, getattr(person, name)[:limit])
    for name, limit in LIMITS.items():
        if len(getattr(person, name)) > limit:
            column = mapping.get(name) or (mapping.get("full_name", "") if name in ("first_name", "last_name") else "")
            problems.append((column, f"Longer than {limit} characters: too long to store"))

    if first and not (person.company_name or get("email", "") or get("linkedin_url", "")):
        problems.append(("", "Needs a company, an email or a LinkedIn URL to tell who this is"))
    person.name_key = name_key(person.first_name, person.last_name, person.company_name)
    return person, problems


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
