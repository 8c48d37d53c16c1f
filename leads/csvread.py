"""Reading CSV text the way real exports write it: the encoding, the delimiter, the header row,
and the repairs (a whole record wrapped in quotes, stray control characters, ragged rows).

Memory follows the chunk, not the file: text is decoded a chunk at a time (`text_lines`), and
the upload reads only its first part as text (`decode_prefix`). Used by leads.imports.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice

from leads.csvrows import guess_mapping

# Exports from Sales Navigator, Apollo and HubSpot have under 100 columns. A wider file is no lead list,
# and its preview would put every column in 17 dropdowns (60,000 columns: megabytes of HTML per page).
MAX_COLUMNS = 200
PREVIEW_BYTES = 256 * 1024

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
