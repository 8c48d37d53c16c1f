"""A local fake of a Salesforce org's REST API (v59.0), served over real HTTPS on 127.0.0.1.

    with FakeSalesforce() as fake:
        adapter = SalesforceAdapter(fake.instance_url, fake.client_id, fake.client_secret,
                                    verify=str(fake.cert_path))  # trusts the fake's own certificate

HTTPS because simple-salesforce builds every URL as `https://{instance}`: the fake carries a
self-signed certificate for 127.0.0.1 (`fake.cert_path`; `fake.session()` is a requests session
that trusts it, for driving simple-salesforce directly) and nothing else changes in the client.

Shapes follow the REST API Developer Guide:
- `POST /services/oauth2/token`, grant_type=client_credentials with the connected app's key and
  secret in HTTP Basic (or the body): 200 {"access_token", "instance_url", "id", "token_type",
  "issued_at", "signature", "scope"}; a wrong or revoked client answers 400
  {"error": "invalid_client", "error_description": "invalid client credentials"}.
- `POST /sobjects/{Obj}/` creates: 201 {"id", "success": true, "errors": []}.
- `PATCH /sobjects/{Obj}/{Field}/{value}` upserts by external id: 201 {..., "created": true} when
  made, 200 {..., "created": false} when an existing record was updated (API 46.0 and later; 204
  before), 300 when the value matches several records. `PATCH /sobjects/{Obj}/{Id}` updates: 204.
- `GET /sobjects/{Obj}/{Id}` and `/sobjects/{Obj}/{Field}/{value}`: the record with "attributes".
- `GET /sobjects/{Obj}/describe`: the object's fields (name, type, externalId, unique, idLookup);
  `without_external_id=("Task",)` makes an org whose admin has not added SalesDept_Id__c there
  (upserts by it then answer 404 NOT_FOUND, as Salesforce does).
- `DELETE /sobjects/{Obj}/{Id}`: 204; the record goes to the recycle bin (`fake.recycle_bin`),
  as Salesforce keeps deleted records there for 15 days; a second delete answers 404
  ENTITY_IS_DELETED.
- `GET /query/?q=SOQL` (and `/queryAll/`): {"totalSize", "done", "records", "nextRecordsUrl"},
  paged by `query_batch_size`; only the small SOQL subset the adapter sends is parsed (SELECT
  fields FROM Obj [WHERE a op v AND|OR ...] [ORDER BY f [ASC|DESC]] [LIMIT n]); anything else is
  400 MALFORMED_QUERY.
- Errors are lists [{"message", "errorCode", "fields"}]: 400 REQUIRED_FIELD_MISSING,
  INVALID_EMAIL_ADDRESS, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_FIELD (a field the org
  does not have, e.g. CurrencyIsoCode without multi-currency), INVALID_CROSS_REFERENCE_KEY,
  FIELD_CUSTOM_VALIDATION_EXCEPTION (`refuse_when(obj, rule, message, fields)`), DUPLICATE_VALUE;
  401 INVALID_SESSION_ID (`expire_sessions()`: a new login works; `revoke()`: it fails;
  `refuse_sessions()`: it works but the session is refused again); 403 REQUEST_LIMIT_EXCEEDED
  (`limit_storm(n, message)`); `throttle(n, status, retry_after)` answers 429 / 503 with Retry-After.

Every answer carries `Sforce-Limit-Info: api-usage=N/15000`. Every request is recorded in
`fake.requests` as {"method", "path", "query", "headers", "json", "form", "status"}.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import itertools
import json
import re
import secrets
import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from tests.fakes.http import FakeHandler, LocalFake, _Server

API_VERSION = "59.0"
DATA = f"/services/data/v{API_VERSION}"
EXTERNAL_ID = "SalesDept_Id__c"

# Key prefixes Salesforce gives each object's ids.
PREFIX = {
    "Organization": "00D",
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "Task": "00T",
}
SYSTEM_FIELDS = {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
# The fields this org has, per object (beyond SYSTEM_FIELDS); anything else is INVALID_FIELD.
FIELDS = {
    "Organization": {"Name"},
    "User": {"Name", "Username"},
    "Account": {"Name", "Website", "Industry", EXTERNAL_ID},
    "Contact": {"FirstName", "LastName", "Email", "Title", "AccountId", "LeadSource", EXTERNAL_ID},
    "Opportunity": {
        "Name",
        "StageName",
        "Amount",
        "CloseDate",
        "NextStep",
        "Description",
        "AccountId",
        EXTERNAL_ID,
    },
    "OpportunityContactRole": {"OpportunityId", "ContactId", "Role", "IsPrimary"},
    "Task": {"Subject", "Description", "ActivityDate", "Status", "Priority", "WhoId", "WhatId", EXTERNAL_ID},
}
REQUIRED = {
    "Account": ["Name"],
    "Contact": ["LastName"],
    "Opportunity": ["Name", "StageName", "CloseDate"],
    "OpportunityContactRole": ["OpportunityId", "ContactId"],
}
DEFAULTS = {"Task": {"Status": "Not Started", "Priority": "Normal"}}
REFERENCES = {"AccountId": ("Account",), "OpportunityId": ("Opportunity",), "ContactId": ("Contact",)}
POLYMORPHIC = {"WhoId": ("Contact",), "WhatId": ("Opportunity", "Account")}
DATE_FIELDS = {"CloseDate", "ActivityDate"}
# Salesforce's default opportunity stages (a restricted picklist).
STAGES = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    return Reply(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def salesforce_id(prefix: str, n: int) -> str:
    """An 18-character id: the object's prefix, 12 case-sensitive characters, a 3-character case checksum."""
    digits = ""
    for _ in range(10):
        n, digit = divmod(n, 62)
        digits = _BASE62[digit] + digits
    base = f"{prefix}Hs{digits}"
    return base + id_checksum(base)


def id_checksum(base: str) -> str:
    """The 3 characters Salesforce appends to a 15-character id: which letters are capitals."""
    suffix = ""
    for chunk in (base[0:5], base[5:10], base[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if char.isupper())
        suffix += _CHECKSUM[bits]
    return suffix


def sf_datetime(moment: dt.datetime) -> str:
    """Salesforce's JSON datetime: 2026-11-24T10:00:00.000+0000."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_sf_datetime(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for decades (TLS checks the real clock)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _TLSHandler(FakeHandler):
    def setup(self) -> None:
        self.request.do_handshake()  # in the handler's thread, so a slow client never blocks accept()
        super().setup()

    do_PATCH = FakeHandler.do_GET


# --- a small SOQL reader: only what the adapter sends ---

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.:+\-]+))"
)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$")
_UNESCAPE = re.compile(r"\\(.)")


def _tokens(soql: str) -> list[str]:
    tokens, position = [], 0
    while position < len(soql.rstrip()):
        match = _TOKEN.match(soql, position)
        if not match:
            raise error(400, "MALFORMED_QUERY", f"unexpected token at {position}")
        tokens.append(match.group(match.lastgroup))
        position = match.end()
    return tokens


def _literal(token: str) -> Any:
    if token.startswith("'"):
        escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
        return _UNESCAPE.sub(lambda m: escapes.get(m.group(1), m.group(1)), token[1:-1])
    lowered = token.lower()
    if lowered in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[lowered]
    if _DATETIME.match(token):
        return dt.datetime.fromisoformat(token.replace("Z", "+00:00"))
    if re.match(r"^-?\d+(\.\d+)?$", token):
        return float(token)
    raise error(400, "MALFORMED_QUERY", f"unexpected token: {token}")


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare(value: Any, op: str, target: Any) -> bool:
    """SOQL compares text without regard to case."""
    if isinstance(target, dt.datetime) and isinstance(value, str):
        value = parse_sf_datetime(value)
    value, target = _fold(value), [_fold(t) for t in target] if isinstance(target, list) else _fold(target)
    if isinstance(target, list):
        return value in target if op == "IN" else value not in target
    if op == "=":
        return value == target
    if op == "!=":
        return value != target
    if value is None or target is None:
        return False
    return {">": value > target, ">=": value >= target, "<": value < target, "<=": value <= target}[op]


def parse_soql(soql: str) -> dict[str, Any]:
    """SELECT f, g FROM Obj [WHERE c (AND|OR) c ...] [ORDER BY f [ASC|DESC]] [LIMIT n]; AND binds tighter."""
    tokens = _tokens(soql)
    upper = [token.upper() for token in tokens]
    if not upper or upper[0] != "SELECT" or "FROM" not in upper:
        raise error(400, "MALFORMED_QUERY", "expected SELECT ... FROM")
    at = upper.index("FROM")
    fields = [token for token in tokens[1:at] if token != ","]
    obj, at = tokens[at + 1], at + 2
    where: list[list[tuple[str, str, Any]]] = [[]]  # OR of ANDs
    order, limit = None, None
    if at < len(tokens) and upper[at] == "WHERE":
        at += 1
        while True:
            field, op = tokens[at], upper[at + 1]
            at += 2
            if op in ("IN", "NOT"):
                if op == "NOT":
                    op, at = "NOT IN", at + 1
                if tokens[at] != "(":
                    raise error(400, "MALFORMED_QUERY", "expected ( after IN")
                close = tokens.index(")", at)
                target: Any = [_literal(token) for token in tokens[at + 1 : close] if token != ","]
                at = close + 1
            elif op in ("=", "!=", ">", ">=", "<", "<="):
                target, at = _literal(tokens[at]), at + 1
            else:
                raise error(400, "MALFORMED_QUERY", f"unexpected operator: {op}")
            where[-1].append((field, op, target))
            if at < len(tokens) and upper[at] == "AND":
                at += 1
            elif at < len(tokens) and upper[at] == "OR":
                where.append([])
                at += 1
            else:
                break
    if at + 1 < len(tokens) and upper[at : at + 2] == ["ORDER", "BY"]:
        order, at = (tokens[at + 2], False), at + 3
        if at < len(tokens) and upper[at] in ("ASC", "DESC"):
            order, at = (order[0], upper[at] == "DESC"), at + 1
    if at < len(tokens) and upper[at] == "LIMIT":
        limit, at = int(tokens[at + 1]), at + 2
    if at != len(tokens):
        raise error(400, "MALFORMED_QUERY", f"unexpected token: {tokens[at]}")
    return {"fields": fields, "obj": obj, "where": where if where[0] else [], "order": order, "limit": limit}


class FakeSalesforce(LocalFake):
    name = "FakeSalesforce"

    def __init__(
        self,
        *,
        client_id: str = "3MVG9fake.client.id",
        client_secret: str | None = None,
        org_name: str = "Acme Test Org",
        multi_currency: bool = True,
        query_batch_size: int = 2000,
        without_external_id: tuple[str, ...] = (),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)  # random: a test can look for it
        self.multi_currency = multi_currency
        self.query_batch_size = query_batch_size
        self.without_external_id = set(without_external_id)  # objects the admin has not given SalesDept_Id__c
        self.lock = threading.Lock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {obj: {} for obj in PREFIX}
        self.recycle_bin: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.logins = 0
        self.revoked = False
        self.requests: list[dict[str, Any]] = []
        self.validation_rules: list[tuple[str, Callable[[dict[str, Any]], bool], str, list[str]]] = []
        self._limit_storm, self._limit_message = 0, ""
        self.sessions_refused = False
        self._throttle: tuple[int, int, str | None] = (0, 503, None)
        self._cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._ids = itertools.count(1)
        self._api_calls = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-salesforce-")
        self.cert_path, self._key_path = _certificate(Path(self._tmp.name))
        self.org_id = self._insert("Organization", {"Name": org_name})
        self.user_id = self._insert("User", {"Name": "Integration User", "Username": "integration@acme.test"})
        self._serve()
        self.instance_url = f"https://127.0.0.1:{self.port}"

    # --- lifecycle: LocalFake's, over TLS and with PATCH ---

    def _serve(self) -> None:
        self._stopping = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self._key_path)
        handler = type(f"{self.name}Handler", (_TLSHandler,), {"server_version": f"{self.name}/1.0"})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._server.fake = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()

    def session(self) -> requests.Session:
        """A requests session that trusts this fake's certificate (and only it)."""
        session = requests.Session()
        session.verify = str(self.cert_path)
        session.trust_env = False  # no proxy from the environment between the client and 127.0.0.1
        return session

    # --- what tests set and read ---

    def expire_sessions(self) -> None:
        """Every access token stops working (a session timeout); logging in again works."""
        with self.lock:
            self.tokens.clear()

    def revoke(self) -> None:
        """The connected app's credential is revoked: tokens stop working and logging in fails."""
        with self.lock:
            self.tokens.clear()
            self.revoked = True

    def limit_storm(self, count: int, message: str = "TotalRequests Limit exceeded.") -> None:
        """The next `count` API calls answer 403 REQUEST_LIMIT_EXCEEDED: by default the org's
        rolling daily allowance; "ConcurrentPerOrgLongTxn Limit exceeded." is too many long requests."""
        self._limit_storm, self._limit_message = count, message

    def refuse_sessions(self) -> None:
        """Tokens are still issued but every API call answers 401 (the execution user lost API access)."""
        with self.lock:
            self.sessions_refused = True
            self.tokens.clear()

    def throttle(self, count: int, *, status: int = 503, retry_after: str | None = "7") -> None:
        """The next `count` API calls answer `status` with this Retry-After header."""
        self._throttle = (count, status, retry_after)

    def refuse_when(self, obj: str, rule: Callable[[dict[str, Any]], bool], message: str, fields: list[str]) -> None:
        """A validation rule: a write leaving a record for which `rule` is true is refused."""
        self.validation_rules.append((obj, rule, message, fields))

    def all(self, obj: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(record) for record in self.records[obj].values()]

    def get(self, obj: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.records[obj].get(record_id)
            return dict(record) if record else None

    def edit(self, obj: str, record_id: str, *, at: dt.datetime | None = None, **values: Any) -> None:
        """Someone changes a record in Salesforce (its SystemModstamp moves to `at`, else now)."""
        with self.lock:
            record = self.records[obj][record_id]
            record.update(values)
            stamp = sf_datetime(at or dt.datetime.now(dt.UTC))
            record["LastModifiedDate"] = record["SystemModstamp"] = stamp

    def add(self, obj: str, values: dict[str, Any]) -> str:
        """A record someone made in Salesforce directly."""
        with self.lock:
            return self._insert(obj, values)

    # --- the store ---

    def _insert(self, obj: str, values: dict[str, Any]) -> str:
        record_id = salesforce_id(PREFIX[obj], next(self._ids))
        stamp = sf_datetime(dt.datetime.now(dt.UTC))
        record = {field: None for field in FIELDS[obj]}
        record.update(DEFAULTS.get(obj, {}))
        record.update(values)
        record.update(Id=record_id, IsDeleted=False, CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        if obj == "Opportunity" and self.multi_currency:
            record.setdefault("CurrencyIsoCode", "USD")
        self.records[obj][record_id] = record
        return record_id

    def _fields(self, obj: str) -> set[str]:
        fields = FIELDS[obj] | SYSTEM_FIELDS
        if obj in self.without_external_id:
            fields = fields - {EXTERNAL_ID}
        if self.multi_currency and obj == "Opportunity":
            fields = fields | {"CurrencyIsoCode"}
        return fields

    def _validate(self, obj: str, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        for field in values:
            if field not in self._fields(obj) or field in SYSTEM_FIELDS:
                raise error(400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {obj}", [field])
        merged = {**(existing or {}), **values}
        missing = [field for field in REQUIRED.get(obj, []) if merged.get(field) in (None, "")]
        if missing:
            raise error(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        if values.get("Email") and not EMAIL.match(values["Email"]):
            raise error(400, "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {values['Email']}", ["Email"])
        if "StageName" in values and values["StageName"] not in STAGES:
            raise error(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Stage: bad value for restricted picklist field: {values['StageName']}",
                ["StageName"],
            )
        for field in DATE_FIELDS & values.keys():
            if values[field] is not None:
                try:
                    dt.date.fromisoformat(values[field])
                except (TypeError, ValueError):
                    raise error(
                        400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of date from {values[field]}"
                    ) from None
        for field, targets in {**REFERENCES, **POLYMORPHIC}.items():
            value = values.get(field)
            if value and not any(value in self.records[target] for target in targets if target in self.records):
                raise error(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [field])
        if obj != "OpportunityContactRole" and values.get(EXTERNAL_ID) is not None:
            for other in self.records[obj].values():
                if other[EXTERNAL_ID] == values[EXTERNAL_ID] and (existing is None or other["Id"] != existing["Id"]):
                    raise error(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {EXTERNAL_ID} duplicates value on record with id: {other['Id']}",
                        [EXTERNAL_ID],
                    )
        for rule_obj, rule, message, fields in self.validation_rules:
            if rule_obj == obj and rule(merged):
                raise error(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", message, fields)

    def _write(self, obj: str, values: dict[str, Any], existing: dict[str, Any] | None) -> str:
        self._validate(obj, values, existing)
        if existing is None:
            return self._insert(obj, values)
        existing.update(values)
        existing["LastModifiedDate"] = existing["SystemModstamp"] = sf_datetime(dt.datetime.now(dt.UTC))
        return existing["Id"]

    def _view(self, obj: str, record: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        view: dict[str, Any] = {"attributes": {"type": obj, "url": f"{DATA}/sobjects/{obj}/{record['Id']}"}}
        for field in fields or sorted(self._fields(obj)):
            view[field] = record.get(field)
        return view

    # --- HTTP ---

    def _handle(self, handler: FakeHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        entry: dict[str, Any] = {
            "method": handler.command,
            "path": url.path,
            "query": parse_qs(url.query),
            "headers": dict(handler.headers),
            "json": None,
            "form": None,
        }
        try:
            if "json" in (handler.headers.get("Content-Type") or "") and raw:
                entry["json"] = json.loads(raw)
            elif raw:
                entry["form"] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            with self.lock:
                status, body = self._route(handler, url.path, entry)
            headers = {"Sforce-Limit-Info": f"api-usage={self._api_calls}/15000"}
        except Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        except json.JSONDecodeError:
            status, body, headers = 400, [{"message": "Unexpected character", "errorCode": "JSON_PARSER_ERROR"}], {}
        entry["status"] = status
        self.requests.append(entry)
        if body is None:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.send_json(status, body, headers)

    def _route(self, handler: FakeHandler, path: str, entry: dict[str, Any]) -> tuple[int, Any]:
        method = handler.command
        if path == "/services/oauth2/token" and method == "POST":
            return self._token(handler, entry["form"] or {})
        if not path.startswith(DATA + "/"):
            raise error(404, "NOT_FOUND", "The requested resource does not exist")
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.tokens or self.sessions_refused:
            raise error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self._api_calls += 1
        count, status, retry_after = self._throttle
        if count:
            self._throttle = (count - 1, status, retry_after)
            headers = {"Retry-After": retry_after} if retry_after else {}
            body = [{"message": "Server is busy, retry later", "errorCode": "SERVER_UNAVAILABLE"}]
            raise Reply(status, body, headers)
        if self._limit_storm:
            self._limit_storm -= 1
            raise error(403, "REQUEST_LIMIT_EXCEEDED", self._limit_message)
        parts = [unquote(part) for part in path[len(DATA) + 1 :].strip("/").split("/")]
        if parts[0] in ("query", "queryAll") and method == "GET":
            return self._query(parts, entry["query"], include_deleted=parts[0] == "queryAll")
        if parts[0] == "sobjects" and len(parts) >= 2 and parts[1] in PREFIX:
            return self._sobject(method, parts[1], parts[2:], entry["json"])
        raise error(404, "NOT_FOUND", "The requested resource does not exist")

    def _token(self, handler: FakeHandler, form: dict[str, str]) -> tuple[int, Any]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        authorization = handler.headers.get("Authorization") or ""
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            raise Reply(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        if self.revoked or (client_id, client_secret) != (self.client_id, self.client_secret):
            raise Reply(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(24)}"
        self.tokens.add(token)
        self.logins += 1
        issued = str(int(dt.datetime.now(dt.UTC).timestamp() * 1000))
        return 200, {
            "access_token": token,
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "api",
            "instance_url": self.instance_url,
            "id": f"{self.instance_url}/id/{self.org_id}/{self.user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
        }

    def _sobject(self, method: str, obj: str, rest: list[str], body: Any) -> tuple[int, Any]:
        table = self.records[obj]
        if not rest:
            if method != "POST":
                raise error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD,POST")
            if EXTERNAL_ID in (body or {}) and obj == "OpportunityContactRole":
                raise error(400, "INVALID_FIELD", f"No such column '{EXTERNAL_ID}' on sobject of type {obj}")
            record_id = self._write(obj, dict(body or {}), None)
            return 201, {"id": record_id, "success": True, "errors": []}
        if len(rest) == 2:  # by external id
            field, value = rest
            if field not in self._fields(obj) or field in SYSTEM_FIELDS:
                raise error(
                    404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}"
                )
            matches = [record for record in table.values() if str(record.get(field)) == value]
            if method == "GET":
                if not matches:
                    raise error(404, "NOT_FOUND", "The requested resource does not exist")
                return 200, self._view(obj, matches[0])
            if method != "PATCH":
                raise error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")
            if len(matches) > 1:
                raise Reply(300, [f"{DATA}/sobjects/{obj}/{record['Id']}" for record in matches])
            values = dict(body or {})
            if field in values and str(values[field]) != value:
                raise error(400, "INVALID_FIELD", f"{field}: the value in the body does not match the URL", [field])
            values[field] = value
            existing = matches[0] if matches else None
            record_id = self._write(obj, values, existing)
            created = existing is None
            return (201 if created else 200), {"id": record_id, "success": True, "errors": [], "created": created}
        if rest == ["describe"] and method == "GET":
            return 200, self._describe(obj)
        record_id = rest[0]
        if record_id in self.recycle_bin:
            raise error(404, "ENTITY_IS_DELETED", "entity is deleted")
        if record_id not in table:
            raise error(404, "NOT_FOUND", "The requested resource does not exist")
        if method == "GET":
            return 200, self._view(obj, table[record_id])
        if method == "PATCH":
            self._write(obj, dict(body or {}), table[record_id])
            return 204, None
        if method == "DELETE":
            record = table.pop(record_id)
            record["IsDeleted"] = True
            self.recycle_bin[record_id] = record
            if obj == "Contact":  # Salesforce deletes a contact's opportunity contact roles with it
                roles = self.records["OpportunityContactRole"]
                for role_id in [rid for rid, role in roles.items() if role["ContactId"] == record_id]:
                    self.recycle_bin[role_id] = roles.pop(role_id)
            return 204, None
        raise error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")

    def _describe(self, obj: str) -> dict[str, Any]:
        """The part of the sObject Describe the adapter reads: each field's name, type and flags."""
        fields = []
        for name in sorted(self._fields(obj)):
            kind = "id" if name == "Id" else "reference" if name.endswith("Id") and name != "Id" else "string"
            external = name == EXTERNAL_ID
            fields.append(
                {
                    "name": name,
                    "type": kind,
                    "externalId": external,
                    "unique": external,
                    "idLookup": external or name == "Id",
                }
            )
        return {
            "name": obj,
            "label": obj,
            "keyPrefix": PREFIX[obj],
            "createable": True,
            "updateable": True,
            "fields": fields,
        }

    def _query(self, parts: list[str], params: dict[str, list[str]], *, include_deleted: bool) -> tuple[int, Any]:
        if len(parts) == 2:  # the next page: /query/<cursor>-<offset>
            cursor, _, offset = parts[1].rpartition("-")
            if cursor not in self._cursors:
                raise error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            rows, _ = self._cursors[cursor]
            return 200, self._page(cursor, rows, int(offset))
        if "q" not in params:
            raise error(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse_soql(params["q"][0])
        obj = query["obj"]
        if obj not in PREFIX:
            raise error(400, "INVALID_TYPE", f"sObject type '{obj}' is not supported.")
        for field in query["fields"] + [c[0] for group in query["where"] for c in group]:
            if field not in self._fields(obj):
                raise error(400, "INVALID_FIELD", f"No such column '{field}' on entity '{obj}'.")
        candidates = list(self.records[obj].values())
        if include_deleted:
            candidates += [record for record in self.recycle_bin.values() if record["Id"].startswith(PREFIX[obj])]
        rows = [
            record
            for record in candidates
            if not query["where"]
            or any(all(_compare(record.get(f), op, v) for f, op, v in group) for group in query["where"])
        ]
        if query["order"]:
            field, descending = query["order"]
            rows.sort(key=lambda record: (record.get(field) is None, record.get(field) or ""), reverse=descending)
        if query["limit"] is not None:
            rows = rows[: query["limit"]]
        views = [self._view(obj, record, query["fields"]) for record in rows]
        cursor = salesforce_id("01g", next(self._ids))
        self._cursors[cursor] = (views, len(views))
        return 200, self._page(cursor, views, 0)

    def _page(self, cursor: str, rows: list[dict[str, Any]], offset: int) -> dict[str, Any]:
        end = offset + self.query_batch_size
        page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if not page["done"]:
            page["nextRecordsUrl"] = f"{DATA}/query/{cursor}-{end}"
        return page
