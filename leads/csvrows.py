"""From a CSV row to a person: which column fills which lead field (guessed from the header's
spelling in common exports, confirmed by the person importing) and the checks every row passes.

Used by leads.imports, which stores the people these checks let through.
"""

import re
import unicodedata
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache as memoise

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leads.dedupe import name_key, normalise_email, normalise_linkedin_url

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
