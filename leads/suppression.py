"""The suppression list: people who must never be contacted again, kept as hashes only."""

import hashlib

from django.db.models import Exists, Q, QuerySet, Value

from leads.dedupe import normalise_linkedin_url
from leads.models import Lead, Suppression

Kind = Suppression.Kind


def suppression_hash(kind: str, value: str) -> str:
    value = value.strip().lower()
    if kind == Kind.LINKEDIN:
        value = normalise_linkedin_url(value)
    elif kind == Kind.EMAIL_DOMAIN:
        value = value.rpartition("@")[2]
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _keys_for(lead: Lead) -> list[tuple[str, str]]:
    keys = []
    if lead.email:
        keys += [(Kind.EMAIL, lead.email), (Kind.EMAIL_DOMAIN, lead.email)]
    if lead.linkedin_url:
        keys.append((Kind.LINKEDIN, lead.linkedin_url))
    return keys


def suppression_add(*, kind: str, value: str, reason: str) -> bool:
    """Suppress one address; False when it already was (the first reason is kept)."""
    _, created = Suppression.objects.get_or_create(
        kind=kind, value_hash=suppression_hash(kind, value), defaults={"reason": reason}
    )
    return created


def suppression_add_for_lead(*, lead: Lead, reason: str) -> int:
    """Suppress every address the lead has (not the domain: that is a separate, manual choice)."""
    return sum(
        suppression_add(kind=kind, value=value, reason=reason)
        for kind, value in _keys_for(lead)
        if kind != Kind.EMAIL_DOMAIN
    )


def _entries_for(lead: Lead) -> QuerySet[Suppression] | None:
    """The entries that would name the person (an address of theirs, their email's domain); None: no address."""
    keys = _keys_for(lead)
    if not keys:
        return None
    match = Q()
    for kind, value in keys:
        match |= Q(kind=kind, value_hash=suppression_hash(kind, value))
    return Suppression.objects.filter(match)


def is_suppressed(lead: Lead) -> bool:
    entries = _entries_for(lead)
    return entries is not None and entries.exists()


def suppressed(lead: Lead) -> Exists | Value:
    """`is_suppressed` as an expression, for the statement that reads or locks the person anyway."""
    entries = _entries_for(lead)
    return Value(False) if entries is None else Exists(entries)
