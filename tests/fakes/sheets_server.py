"""A local fake of Google's OAuth2 token endpoint and the Sheets API v4, over real HTTP on 127.0.0.1.

    with FakeSheets() as fake:
        fake.trust(client_email, private_key.public_key())
        fake.add_spreadsheet(KEY, editors=[client_email])
        settings.SHEETS_API_URL = fake.base_url        # the service account JSON's token_uri: fake.token_uri

It serves what gspread 6 sends for open_by_key, worksheet, add_worksheet, col_values, update,
batch_update, append_rows, resize and freeze: spreadsheets.get, spreadsheets.batchUpdate (addSheet,
updateSheetProperties), values.get, values.update, values.batchUpdate and values.append. Each
sheet is an in-memory grid of rows (`fake.rows(KEY, "Leads")`) with Google's grid limits: writes
past the grid answer 400, appends grow it.

POST /token takes only a JWT bearer grant signed (RS256) by a trusted service account for this
token URI and the spreadsheets scope, and answers a Bearer token; the API routes need one. A
spreadsheet answers 404 when unknown, 403 to an account it is not shared with (writes too when
shared read-only); `fake.fail_next(n, status)` answers the next n API calls with 429 or 5xx.

Every request is recorded in `fake.requests` as {"method", "path", "range", "query", "json",
"form", "status", "kind"} where kind is "token", "read" or "write" (Google's quotas count reads
and writes apart).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.http import FakeHandler, LocalFake

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs assertions for Google's token endpoint whatever the key's token_uri says.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SPREADSHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def column_number(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def parse_range(text: str) -> tuple[str | None, tuple[int, int, int | None, int | None]]:
    """ "'Leads'!A2:C5" -> ("Leads", (row 2, col 1, last row 5, last col 3)); open ends are None."""
    sheet, _, cells = text.rpartition("!") if not text.endswith("'") else (text, "", "")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    start, _, end = cells.partition(":")
    if not cells:
        return sheet or None, (1, 1, None, None)
    first = _CELL.match(start)
    last = _CELL.match(end or start)
    if not first or not last:
        raise ApiError(400, f"Unable to parse range: {text}")
    row = int(first[2]) if first[2] else 1
    col = column_number(first[1]) if first[1] else 1
    last_row = int(last[2]) if last[2] else None
    last_col = column_number(last[1]) if last[1] else None
    return sheet or None, (row, col, last_row, last_col)


class FakeSheets(LocalFake):
    name = "FakeSheets"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.spreadsheets: dict[str, dict[str, Any]] = {}
        self.trusted: dict[str, rsa.RSAPublicKey] = {}
        self.tokens: dict[str, str] = {}  # access token -> service account email
        self.gate: threading.Event | None = None  # when set by a test, API calls wait for it
        self._failures: list[int] = []
        self._lock = threading.RLock()
        self._sheet_ids = itertools.count(100)
        self._serve()
        # LocalFake's handler answers GET, POST and DELETE; values.update is a PUT.
        handler_class = self._server.RequestHandlerClass
        handler_class.do_PUT = handler_class.do_GET
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_uri = f"{self.base_url}/token"

    # -- state the tests set up ------------------------------------------------------------------------------
    def trust(self, client_email: str, public_key: rsa.RSAPublicKey) -> None:
        """Accept JWTs signed by this service account's key."""
        self.trusted[client_email] = public_key

    def add_spreadsheet(
        self,
        key: str,
        *,
        title: str = "Campaign leads",
        worksheets: tuple[str, ...] = ("Sheet1",),
        editors: tuple[str, ...] | list[str] = (),
        viewers: tuple[str, ...] | list[str] = (),
    ) -> None:
        with self._lock:
            self.spreadsheets[key] = {
                "title": title,
                "editors": set(editors),
                "viewers": set(viewers),
                "sheets": [],
            }
            for title_ in worksheets:
                self._add_sheet(key, title_, DEFAULT_ROWS, DEFAULT_COLS)

    def fail_next(self, count: int, status: int = 429) -> None:
        """Answer the next `count` API calls (not token requests) with `status`."""
        with self._lock:
            self._failures.extend([status] * count)

    def sheet(self, key: str, title: str) -> dict[str, Any]:
        with self._lock:
            for sheet in self.spreadsheets[key]["sheets"]:
                if sheet["properties"]["title"] == title:
                    return sheet
        raise KeyError(title)

    def rows(self, key: str, title: str) -> list[list[Any]]:
        """The sheet's values, trailing empty cells and rows trimmed, as values.get shows them."""
        with self._lock:
            return _trim(self.sheet(key, title)["cells"])

    def set_rows(self, key: str, title: str, rows: list[list[Any]]) -> None:
        """What a person does by hand: sort, insert, type."""
        with self._lock:
            sheet = self.sheet(key, title)
            sheet["cells"] = [list(row) for row in rows]
            grid = sheet["properties"]["gridProperties"]
            grid["rowCount"] = max(grid["rowCount"], len(rows))

    def calls(self, kind: str = "api", path_suffix: str = "") -> list[dict[str, Any]]:
        """Recorded requests of a kind ("token", "read", "write", or "api" for both of the last two)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (r["kind"] == kind or (kind == "api" and r["kind"] != "token")) and r["path"].endswith(path_suffix)
            ]

    # -- request handling (server threads) ----------------------------------------------------------------
    def _handle(self, h: FakeHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        content_type = h.headers.get("Content-Type") or ""
        record: dict[str, Any] = {
            "method": h.command,
            "path": unquote(url.path),
            "query": {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()},
            "json": json.loads(raw) if raw and content_type.startswith("application/json") else None,
            "form": {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if content_type.startswith("application/x-www-form-urlencoded")
            else None,
            "kind": "token" if url.path == "/token" else ("read" if h.command == "GET" else "write"),
            "status": None,
        }
        with self._lock:
            self.requests.append(record)
        if record["kind"] == "token":
            status, body = self._token(record["form"] or {})
        else:
            if self.gate is not None:
                self.gate.wait(10)
            try:
                status, body = 200, self._api(h, record)
            except ApiError as error:
                status = error.status
                body = {"error": {"code": status, "message": error.message, "status": _STATUS_NAMES.get(status, "")}}
        record["status"] = status
        h.send_json(status, body)

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != JWT_GRANT:
            return 400, {"error": "unsupported_grant_type", "error_description": "Only the JWT bearer grant."}
        try:
            email = self._verify_jwt(form.get("assertion", ""))
        except (ValueError, KeyError, InvalidSignature) as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc) or "Invalid JWT Signature."}
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        with self._lock:
            self.tokens[token] = email
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _verify_jwt(self, assertion: str) -> str:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(payload_b64))
        if header.get("alg") != "RS256":
            raise ValueError("Unsupported JWT algorithm.")
        public_key = self.trusted.get(claims.get("iss", ""))
        if public_key is None:
            raise ValueError("Invalid issuer: unknown service account.")
        public_key.verify(
            _b64decode(signature_b64),
            f"{header_b64}.{payload_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        now = time.time()
        if claims.get("aud") not in (GOOGLE_TOKEN_URI, self.token_uri):
            raise ValueError("Invalid JWT: audience is not this token endpoint.")
        if SPREADSHEETS_SCOPE not in claims.get("scope", "").split():
            raise ValueError("Invalid JWT: no spreadsheets scope.")
        if not claims["iat"] - 300 <= now <= claims["exp"]:
            raise ValueError("Invalid JWT: expired or not yet valid.")
        return claims["iss"]

    def _api(self, h: FakeHandler, record: dict[str, Any]) -> dict[str, Any]:
        authorization = h.headers.get("Authorization") or ""
        with self._lock:
            email = self.tokens.get(authorization.removeprefix("Bearer "))
            if email is None:
                raise ApiError(401, "Request had invalid authentication credentials.")
            if self._failures:
                status = self._failures.pop(0)
                raise ApiError(
                    status, "Quota exceeded for quota metric 'Requests'." if status == 429 else "Backend Error"
                )
            match = re.match(r"^/v4/spreadsheets/([^/:]+)(.*)$", record["path"])
            if not match:
                raise ApiError(404, "Not found.")
            key, rest = match.groups()
            spreadsheet = self.spreadsheets.get(key)
            if spreadsheet is None:
                raise ApiError(404, "Requested entity was not found.")
            may_write = email in spreadsheet["editors"]
            if not may_write and email not in spreadsheet["viewers"]:
                raise ApiError(403, "The caller does not have permission")
            if record["kind"] == "write" and not may_write:
                raise ApiError(403, "You do not have permission to edit this spreadsheet.")
            return self._route(h.command, key, rest, record)

    def _route(self, method: str, key: str, rest: str, record: dict[str, Any]) -> dict[str, Any]:
        body, query = record["json"] or {}, record["query"]
        if method == "GET" and rest == "":
            return self._metadata(key)
        if method == "POST" and rest == ":batchUpdate":
            return {"spreadsheetId": key, "replies": [self._sheet_request(key, r) for r in body["requests"]]}
        if method == "POST" and rest == "/values:batchUpdate":
            self._input_option(body.get("valueInputOption"))
            results = [self._write(key, item["range"], item["values"]) for item in body["data"]]
            return {
                "spreadsheetId": key,
                "totalUpdatedRows": sum(r["updatedRows"] for r in results),
                "responses": results,
            }
        if rest.startswith("/values/"):
            range_text = rest.removeprefix("/values/")
            if method == "POST" and range_text.endswith(":append"):
                record["range"] = range_text.removesuffix(":append")
                self._input_option(query.get("valueInputOption"))
                return self._append(key, record["range"], body["values"])
            record["range"] = range_text
            if method == "GET":
                return self._read(key, range_text, query)
            if method == "PUT":
                self._input_option(query.get("valueInputOption"))
                return self._write(key, range_text, body["values"])
        raise ApiError(404, f"No route for {method} {rest}")

    # -- the spreadsheet model -------------------------------------------------------------------------------
    def _add_sheet(self, key: str, title: str, rows: int, cols: int) -> dict[str, Any]:
        sheets = self.spreadsheets[key]["sheets"]
        if any(s["properties"]["title"] == title for s in sheets):
            raise ApiError(400, f'Invalid requests[0].addSheet: A sheet with the name "{title}" already exists.')
        properties = {
            "sheetId": next(self._sheet_ids),
            "title": title,
            "index": len(sheets),
            "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols},
        }
        sheets.append({"properties": properties, "cells": []})
        return properties

    def _metadata(self, key: str) -> dict[str, Any]:
        spreadsheet = self.spreadsheets[key]
        return {
            "spreadsheetId": key,
            "properties": {"title": spreadsheet["title"], "locale": "en_GB", "timeZone": "Europe/London"},
            "sheets": [{"properties": json.loads(json.dumps(s["properties"]))} for s in spreadsheet["sheets"]],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{key}/edit",
        }

    def _sheet_request(self, key: str, request: dict[str, Any]) -> dict[str, Any]:
        if "addSheet" in request:
            properties = request["addSheet"]["properties"]
            grid = properties.get("gridProperties", {})
            added = self._add_sheet(
                key, properties["title"], grid.get("rowCount", DEFAULT_ROWS), grid.get("columnCount", DEFAULT_COLS)
            )
            return {"addSheet": {"properties": added}}
        if "updateSheetProperties" in request:
            update = request["updateSheetProperties"]
            sheet = self._sheet_by_id(key, update["properties"]["sheetId"])
            for field in update["fields"].split(","):
                section, _, name = field.partition("/")
                sheet["properties"][section][name] = update["properties"][section][name]
            return {}
        raise ApiError(400, f"Unsupported request: {sorted(request)}")

    def _sheet_by_id(self, key: str, sheet_id: int) -> dict[str, Any]:
        for sheet in self.spreadsheets[key]["sheets"]:
            if sheet["properties"]["sheetId"] == sheet_id:
                return sheet
        raise ApiError(400, f"No grid with id: {sheet_id}")

    def _locate(self, key: str, range_text: str) -> tuple[dict[str, Any], tuple[int, int, int | None, int | None]]:
        title, bounds = parse_range(range_text)
        sheets = self.spreadsheets[key]["sheets"]
        for sheet in sheets:
            if sheet["properties"]["title"] == (title or sheets[0]["properties"]["title"]):
                return sheet, bounds
        raise ApiError(400, f"Unable to parse range: {range_text}")

    @staticmethod
    def _input_option(option: str | None) -> None:
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "Invalid valueInputOption: must be RAW or USER_ENTERED.")

    def _read(self, key: str, range_text: str, query: dict[str, Any]) -> dict[str, Any]:
        sheet, (row, col, last_row, last_col) = self._locate(key, range_text)
        cells = sheet["cells"]
        last_row = min(last_row or len(cells), len(cells))
        block = [
            [_render(v, query.get("valueRenderOption")) for v in cells[r - 1][col - 1 : last_col]]
            for r in range(row, last_row + 1)
        ]
        if query.get("majorDimension") == "COLUMNS":
            width = max((len(r) for r in block), default=0)
            block = [[r[c] if c < len(r) else "" for r in block] for c in range(width)]
        values = _trim(block)
        answer = {"range": range_text, "majorDimension": query.get("majorDimension", "ROWS")}
        return {**answer, "values": values} if values else answer

    def _write(self, key: str, range_text: str, values: list[list[Any]]) -> dict[str, Any]:
        sheet, (row, col, _, _) = self._locate(key, range_text)
        grid = sheet["properties"]["gridProperties"]
        width = max((len(v) for v in values), default=0)
        if row + len(values) - 1 > grid["rowCount"] or col + width - 1 > grid["columnCount"]:
            raise ApiError(
                400,
                f"Range ({range_text}) exceeds grid limits. Max rows: {grid['rowCount']}, "
                f"max columns: {grid['columnCount']}",
            )
        cells = sheet["cells"]
        for offset, new in enumerate(values):
            index = row - 1 + offset
            while len(cells) <= index:
                cells.append([])
            line = cells[index]
            line.extend([""] * (col - 1 + len(new) - len(line)))
            line[col - 1 : col - 1 + len(new)] = list(new)
        return {
            "spreadsheetId": key,
            "updatedRange": range_text,
            "updatedRows": len(values),
            "updatedColumns": width,
            "updatedCells": sum(len(v) for v in values),
        }

    def _append(self, key: str, range_text: str, values: list[list[Any]]) -> dict[str, Any]:
        """After the last row holding anything; new rows are inserted (INSERT_ROWS) or grown into."""
        sheet, _ = self._locate(key, range_text)
        used = len(_trim(sheet["cells"]))
        grid = sheet["properties"]["gridProperties"]
        width = max((len(v) for v in values), default=0)
        grid["columnCount"] = max(grid["columnCount"], width)
        grid["rowCount"] += len(values)
        del sheet["cells"][used:]
        result = self._write(key, f"'{sheet['properties']['title']}'!A{used + 1}", values)
        return {"spreadsheetId": key, "tableRange": range_text, "updates": result}


def _render(value: Any, option: str | None) -> Any:
    if option == "UNFORMATTED_VALUE" or isinstance(value, str):
        return value
    return str(value).lower() if isinstance(value, bool) else str(value)


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    trimmed = []
    for row in rows:
        end = len(row)
        while end and row[end - 1] in ("", None):
            end -= 1
        trimmed.append(list(row[:end]))
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed
