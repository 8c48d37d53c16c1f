"""How one person is recognised across sources: the keys a duplicate is found by.

A person is the same lead when their normalised LinkedIn URL, their email, or their name at
the same company matches. Keys are computed here only, so imports, searches and merges agree.
"""

import re
import unicodedata
from urllib.parse import unquote, urlsplit


def normalise_linkedin_url(url: str) -> str:
    """Lower case, https, no query or fragment, no trailing slash: one person, one key."""
    if not url:
        return ""
    text = url.strip().lower()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host = parts.netloc.removeprefix("www.")
    return f"https://www.{host}{parts.path.rstrip('/')}" if host else ""


def linkedin_public_identifier(url: str) -> str:
    """ "jane-doe" of linkedin.com/in/jane-doe/, or "" (a Sales Navigator URL names no public profile)."""
    address = urlsplit(normalise_linkedin_url(url))
    parts = [part for part in address.path.split("/") if part]
    on_linkedin = address.netloc == "www.linkedin.com" or address.netloc.endswith(".linkedin.com")
    return unquote(parts[1]) if on_linkedin and len(parts) == 2 and parts[0] == "in" else ""


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def _fold(text: str) -> str:
    """Accents and case folded, punctuation dropped, single spaces: "Chloé O'Brien" ~ "chloe obrien"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", "", ascii_text).split())


# Legal suffixes that vary between exports of the same company.
COMPANY_SUFFIXES = {"inc", "ltd", "llc", "gmbh", "plc", "sa", "sas", "bv", "ag", "limited", "corp", "co"}


def name_key(first_name: str, last_name: str, company_name: str) -> str:
    """ "first last|company", or "" when any part is missing (a name alone is not an identity)."""
    person = _fold(f"{first_name} {last_name}")
    words = _fold(company_name).split()
    while words and words[-1] in COMPANY_SUFFIXES:
        words.pop()
    company = " ".join(words)
    if not (_fold(first_name) and _fold(last_name) and company):
        return ""
    return f"{person}|{company}"[:300]


# What a merge may fill in on a known person, from a search or a CSV row alike. It never
# overwrites: what we hold was checked or edited by someone, and the newer source is not more
# right for being newer.
DETAILS = ("last_name", "headline", "position", "seniority", "location", "timezone", "provider_id")
# The keys are filled in the same way, but only when no other lead holds the value: that is
# another person (the caller checks, in bulk or one by one).
KEYS = ("linkedin_url", "email")
MERGEABLE = (*DETAILS, *KEYS)


def missing_details(lead, incoming: dict) -> dict:
    """The details `incoming` has that `lead` lacks."""
    return {name: value for name, value in incoming.items() if name in MERGEABLE and value and not getattr(lead, name)}
