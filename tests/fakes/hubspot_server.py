"""A local fake of HubSpot's CRM API v3/v4, served over real HTTP on 127.0.0.1 for hubspot-api-client.

    with FakeHubSpot() as fake:
        settings.HUBSPOT_API_URL = fake.url
        ...  # the adapter, with token fake.token
        fake.objects["contacts"]  # {id: {"properties": {...}, "createdAt", "updatedAt"}}

Routes follow HubSpot's published shapes (developers.hubspot.com, CRM API v3 objects, search,
batch upsert; v4 default associations; account-info v3):
- POST   /crm/v3/objects/{type}                       create (with optional inline associations)
- GET    /crm/v3/objects/{type}/{id}                  read
- PATCH  /crm/v3/objects/{type}/{id}                  update
- DELETE /crm/v3/objects/{type}/{id}                  archive (204)
- POST   /crm/v3/objects/{type}/batch/upsert          upsert by idProperty (email or a unique property)
- POST   /crm/v3/objects/{type}/search                filterGroups (EQ, NEQ, GT, GTE, LT, LTE), sorts, after
- PUT    /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}
- GET    /account-info/v3/details
Errors have HubSpot's body {"status": "error", "message", "correlationId", "category"}; a 429 carries
Retry-After and policyName. Unknown tokens get 401.

Failures on demand: `fail_call(n, status)` fails the n-th API call (counted from now) once;
`rate_limit(k, retry_after)` answers the next k calls 429 (a storm); `refuse_email(address)`
answers any upsert for that email 400 (VALIDATION_ERROR, as HubSpot does for an invalid address).
Timestamps come from the process clock (time-machine moves it in tests), so "modified since" works.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.http import FakeHandler, LocalFake

TYPES = ("contacts", "companies", "deals", "notes")
# v4 default association type ids, HUBSPOT_DEFINED (developers.hubspot.com associations v4 guide).
DEFAULT_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("notes", "contacts"): 202,
    ("notes", "deals"): 214,
}
TYPE_OF_ID = {202: "contacts", 214: "deals", 190: "companies", 280: "contacts", 279: "companies"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _millis(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HubSpotError(Exception):
    def __init__(self, status: int, message: str, category: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.headers = status, message, category, headers or {}


class FakeHubSpot(LocalFake):
    name = "FakeHubSpot"

    def __init__(self, *, token: str = "pat-na1-test-token", portal_id: int = 4242) -> None:  # noqa: S107
        self.token, self.portal_id = token, portal_id
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in TYPES}
        self.associations: set[tuple[str, str, str, str]] = set()  # (from type, from id, to type, to id)
        self.requests: list[dict[str, Any]] = []
        self.archived: list[tuple[str, str]] = []
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._fail_at: dict[int, int] = {}  # call number → status
        self._calls = 0
        self._storm, self._storm_after = 0, "1"
        self._refused_emails: set[str] = set()
        self._serve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Test controls.

    def fail_call(self, n: int, status: int = 500) -> None:
        """The n-th API call from now answers `status` (once)."""
        self._fail_at[self._calls + n] = status

    def rate_limit(self, k: int, retry_after: str = "1") -> None:
        """The next k API calls answer 429 with this Retry-After."""
        self._storm, self._storm_after = k, retry_after

    def refuse_email(self, email: str) -> None:
        self._refused_emails.add(email.lower())

    def move_deal(self, deal_id: str, stage: str) -> None:
        """A person moves a deal in HubSpot's own UI."""
        with self._lock:
            deal = self.objects["deals"][deal_id]
            deal["properties"]["dealstage"] = stage
            self._touch(deal)

    def by_property(self, kind: str, name: str, value: str) -> list[dict[str, Any]]:
        return [o for o in self.objects[kind].values() if (o["properties"].get(name) or "") == value]

    def associated(self, from_type: str, from_id: str, to_type: str) -> set[str]:
        return {
            t_id
            for f_type, f_id, t_type, t_id in self.associations
            if (f_type, f_id, t_type) == (from_type, from_id, to_type)
        }

    def statuses(self) -> list[int]:
        return [r["status"] for r in self.requests]

    # Serving.

    def _handle(self, h: FakeHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        record = {"method": h.command, "path": unquote(url.path), "json": json.loads(raw) if raw else None}
        with self._lock:
            self.requests.append(record)
            try:
                status, body = self._route(h, record)
            except HubSpotError as error:
                status = error.status
                body = {
                    "status": "error", "message": error.message, "correlationId": str(uuid.uuid4()),
                    "category": error.category,
                }  # fmt: skip
                if status == 429:
                    body["policyName"] = "TEN_SECONDLY_ROLLING"
                record["status"] = status
                h.send_json(status, body, headers=error.headers)
                return
            record["status"] = status
        if status == 204:
            h.send_response(204)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_json(status, body)

    def _route(self, h: FakeHandler, record: dict[str, Any]) -> tuple[int, Any]:
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            raise HubSpotError(
                401, "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                "INVALID_AUTHENTICATION",
            )  # fmt: skip
        self._calls += 1
        if self._storm > 0:
            self._storm -= 1
            raise HubSpotError(
                429, "You have reached your secondly limit.", "RATE_LIMITS", {"Retry-After": self._storm_after}
            )
        if status := self._fail_at.pop(self._calls, None):
            raise HubSpotError(status, "Injected failure", "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR")
        method, parts = record["method"], [p for p in record["path"].split("/") if p]
        body = record["json"] or {}
        if parts == ["account-info", "v3", "details"] and method == "GET":
            return 200, {"portalId": self.portal_id, "uiDomain": "app.hubspot.com", "timeZone": "UTC",
                         "accountType": "STANDARD", "companyCurrency": "EUR", "dataHostingLocation": "eu1"}  # fmt: skip
        if parts[:3] == ["crm", "v4", "objects"] and method == "PUT" and len(parts) == 9:
            return self._associate_default(parts[3], parts[4], parts[7], parts[8])
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) < 4 or parts[3] not in TYPES:
            raise HubSpotError(404, f"No route {method} {record['path']}", "OBJECT_NOT_FOUND")
        kind, rest = parts[3], parts[4:]
        if rest == [] and method == "POST":
            return 201, self._public(kind, self._create(kind, body.get("properties") or {}, body.get("associations")))
        if rest == ["batch", "upsert"] and method == "POST":
            return 200, self._upsert(kind, body.get("inputs") or [])
        if rest == ["search"] and method == "POST":
            return 200, self._search(kind, body)
        if len(rest) == 1:
            found = self.objects[kind].get(rest[0])
            if found is None:
                raise HubSpotError(404, "Object not found. objectId are usually numeric.", "OBJECT_NOT_FOUND")
            if method == "GET":
                return 200, self._public(kind, found)
            if method == "PATCH":
                self._check(kind, body.get("properties") or {})
                found["properties"].update({k: str(v) for k, v in (body.get("properties") or {}).items()})
                self._touch(found)
                return 200, self._public(kind, found)
            if method == "DELETE":
                del self.objects[kind][rest[0]]
                self.archived.append((kind, rest[0]))
                self.associations = {
                    a for a in self.associations if (a[0], a[1]) != (kind, rest[0]) and (a[2], a[3]) != (kind, rest[0])
                }
                return 204, None
        raise HubSpotError(404, f"No route {method} {record['path']}", "OBJECT_NOT_FOUND")

    # Objects.

    def _touch(self, obj: dict[str, Any]) -> None:
        now = _now()
        obj["updatedAt"] = _iso(now)
        obj["properties"]["hs_lastmodifieddate"] = _iso(now)

    def _check(self, kind: str, properties: dict[str, Any]) -> None:
        email = str(properties.get("email") or "").lower()
        if kind == "contacts" and email and (email in self._refused_emails or "@" not in email):
            raise HubSpotError(400, f"Property values were not valid: email {email!r} is invalid", "VALIDATION_ERROR")

    def _create(self, kind: str, properties: dict[str, Any], associations=None) -> dict[str, Any]:
        self._check(kind, properties)
        object_id, now = str(next(self._ids)), _now()
        props = {k: str(v) for k, v in properties.items()}
        props |= {"hs_object_id": object_id, "createdate": _iso(now), "hs_lastmodifieddate": _iso(now)}
        obj = {"id": object_id, "properties": props, "createdAt": _iso(now), "updatedAt": _iso(now)}
        for association in associations or []:
            to_id = str(association["to"]["id"])
            for spec in association.get("types") or []:
                to_type = TYPE_OF_ID.get(spec.get("associationTypeId"))
                if to_type is None or to_id not in self.objects[to_type]:
                    raise HubSpotError(400, f"Invalid association to {to_id}", "VALIDATION_ERROR")
                self.associations |= {(kind, object_id, to_type, to_id), (to_type, to_id, kind, object_id)}
        self.objects[kind][object_id] = obj
        return obj

    def _upsert(self, kind: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        started, results = _iso(_now()), []
        for item in inputs:
            id_property, value = item.get("idProperty") or "hs_object_id", str(item.get("id") or "")
            properties = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            if id_property == "email":
                self._check(kind, {"email": value})
            found = self.by_property(kind, id_property, value) if value else []
            if found:
                self._check(kind, properties)
                found[0]["properties"].update(properties)
                self._touch(found[0])
                results.append(self._public(kind, found[0]) | {"new": False})
            else:
                obj = self._create(kind, properties | {id_property: value})
                results.append(self._public(kind, obj) | {"new": True})
        return {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _iso(_now())}

    def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        groups = body.get("filterGroups") or []
        matches = [o for o in self.objects[kind].values() if not groups or any(self._all(o, g) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            matches.sort(
                key=lambda o: o["properties"].get(sort["propertyName"]) or "",
                reverse=sort.get("direction") == "DESCENDING",
            )
        start, limit = int(body.get("after") or 0), min(int(body.get("limit") or 10), 200)
        page = matches[start : start + limit]
        wanted = set(body.get("properties") or []) | {"hs_object_id", "createdate", "hs_lastmodifieddate"}
        results = [self._public(kind, o, wanted) for o in page]
        out = {"total": len(matches), "results": results}
        if start + limit < len(matches):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def _all(self, obj: dict[str, Any], group: dict[str, Any]) -> bool:
        return all(self._match(obj, f) for f in group.get("filters") or [])

    @staticmethod
    def _match(obj: dict[str, Any], f: dict[str, Any]) -> bool:
        have, want, op = obj["properties"].get(f["propertyName"]), f.get("value"), f.get("operator", "EQ")
        if op in ("EQ", "NEQ"):
            same = (have or "").lower() == str(want).lower()
            return same if op == "EQ" else not same
        if have is None:
            return False
        if f["propertyName"] in ("hs_lastmodifieddate", "createdate"):  # date-times compare as instants
            have_ms = dt.datetime.fromisoformat(have.replace("Z", "+00:00")).timestamp() * 1000
            want_ms = (
                float(want)
                if str(want).isdigit()
                else dt.datetime.fromisoformat(str(want).replace("Z", "+00:00")).timestamp() * 1000
            )
            have, want = have_ms, want_ms
        return {"GT": have > want, "GTE": have >= want, "LT": have < want, "LTE": have <= want}[op]

    def _associate_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> tuple[int, Any]:
        if from_id not in self.objects.get(from_type, {}) or to_id not in self.objects.get(to_type, {}):
            raise HubSpotError(404, "One of the objects does not exist", "OBJECT_NOT_FOUND")
        self.associations |= {(from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)}
        type_id = DEFAULT_TYPES.get((from_type, to_type), 1)
        now = _iso(_now())
        result = {
            "from": {"id": from_id}, "to": {"id": to_id},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
        }  # fmt: skip
        return 200, {"status": "COMPLETE", "results": [result], "startedAt": now, "completedAt": now}

    @staticmethod
    def _public(kind: str, obj: dict[str, Any], wanted: set[str] | None = None) -> dict[str, Any]:
        properties = (
            obj["properties"] if wanted is None else {k: v for k, v in obj["properties"].items() if k in wanted}
        )
        return {
            "id": obj["id"], "properties": properties, "createdAt": obj["createdAt"], "updatedAt": obj["updatedAt"],
            "archived": False,
        }  # fmt: skip
