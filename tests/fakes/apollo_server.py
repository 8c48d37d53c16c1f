"""A local fake of Apollo's people API (providers.md §1.13), served over real HTTP on 127.0.0.1.

    with FakeApollo() as fake:
        settings.APOLLO_API_KEY, settings.APOLLO_BASE_URL = fake.api_key, fake.base_url

`POST /api/v1/mixed_people/api_search` pages `total` deterministic people (`apollo_person(i)`),
`POST /api/v1/people/match` reveals one person's email (`no_email_ids` have none). A wrong or
missing X-Api-Key answers 401; set `fail_with` to 401, 403, 429 or 500 to make every call fail so.
Requests are recorded in `requests` as {"path", "headers", "json", "status"}.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from tests.fakes.http import FakeHandler, LocalFake

_FIRST = ["Maya", "Felix", "Ingrid", "Ravi", "Grace", "Samuel"]
_LAST = [
    "Okafor",
    "Lindqvist",
    "Rossi",
    "Novak",
    "Hughes",
    "Mendes",
    "Brennan",
    "Costa",
    "Weber",
    "Jansen",
    "Moreau",
    "Fischer",
]
_TITLES = [("Chief Financial Officer", "c_suite"), ("VP Finance", "vp"), ("Head of Finance", "head")]
_ORGS = [("Cobalt Analytics", "cobalt-analytics.com", 320), ("Helio Health", "heliohealth.eu", 900)]
ERRORS = {
    401: {"error": "Invalid access credentials."},
    403: {"error": "You do not have access to this endpoint on your current plan."},
    429: {"error": "The maximum number of api calls allowed for api/v1/mixed_people/api_search is 600 times per hour."},
    500: {"error": "Internal server error"},
}


def apollo_person(i: int) -> dict[str, Any]:
    """Person number i, unique name for i < 72."""
    first, last = _FIRST[i % 6], _LAST[(i // 6) % 12]
    title, seniority = _TITLES[i % 3]
    org, domain, employees = _ORGS[i % 2]
    return {
        "id": f"apollo-{i:04d}",
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "title": title,
        "headline": f"{title} at {org}",
        "seniority": seniority,
        "linkedin_url": f"http://www.linkedin.com/in/{first.lower()}-{last.lower()}-{i:04d}",
        "city": "London",
        "state": "England",
        "country": "United Kingdom",
        "email": None,
        "organization": {
            "name": org,
            "primary_domain": domain,
            "industry": "financial services",
            "estimated_num_employees": employees,
        },
    }


class FakeApollo(LocalFake):
    name = "FakeApollo"

    def __init__(self, api_key: str = "apollo-test-key") -> None:
        self.api_key = api_key
        self.total = 60
        self.fail_with: int | None = None
        self.no_email_ids: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._serve()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def calls(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def _handle(self, h: FakeHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        try:
            body = json.loads(h.rfile.read(length)) if length else {}
        except ValueError:
            body = None
        record = {"path": h.path, "headers": {k.lower(): v for k, v in h.headers.items()}, "json": body}
        with self._lock:
            self.requests.append(record)
        status, answer = self._route(h, body)
        record["status"] = status
        h.send_json(status, answer)

    def _route(self, h: FakeHandler, body: Any) -> tuple[int, dict[str, Any]]:
        if h.headers.get("X-Api-Key") != self.api_key:
            return 401, ERRORS[401]
        if self.fail_with:
            return self.fail_with, ERRORS[self.fail_with]
        if h.command != "POST" or not isinstance(body, dict):
            return 400, {"error": "Expected a JSON POST"}
        if h.path == "/api/v1/mixed_people/api_search":
            return self._search(body)
        if h.path == "/api/v1/people/match":
            return self._match(body)
        return 404, {"error": f"No route {h.path}"}

    def _search(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        page, per_page = int(body.get("page") or 1), int(body.get("per_page") or 10)
        if not 1 <= per_page <= 100 or page < 1:
            return 422, {"error": "per_page must be between 1 and 100"}
        start = (page - 1) * per_page
        people = [apollo_person(i) for i in range(start, min(start + per_page, self.total))]
        pages = math.ceil(self.total / per_page)
        return 200, {
            "total_entries": self.total,
            "people": people,
            "pagination": {"page": page, "per_page": per_page, "total_entries": self.total, "total_pages": pages},
        }

    def _match(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        person_id = body.get("id")
        if not person_id:
            wanted = (body.get("first_name"), body.get("last_name"))
            matches = [apollo_person(i) for i in range(self.total)]
            person_id = next((p["id"] for p in matches if (p["first_name"], p["last_name"]) == wanted), None)
        if person_id is None or not person_id.startswith("apollo-"):
            return 200, {"person": None}
        person = apollo_person(int(person_id.removeprefix("apollo-")))
        if person_id not in self.no_email_ids:
            person["email"] = (
                f"{person['first_name'].lower()}.{person['last_name'].lower()}@{person['organization']['primary_domain']}"
            )
            person["email_status"] = "verified"
        return 200, {"person": person}
