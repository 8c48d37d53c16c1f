"""Keyset ("seek") pagination: page N costs what page 1 costs, and nothing counts the table.

A page is the rows after a position (the last row's sort value and pk), sorted descending by
(value, pk). The position travels as a signed cursor: a forged, garbled or stale one is ignored
and the first page is shown, so a bad `?after=` can never become a 500 or a peek elsewhere.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet


@dataclass(frozen=True)
class Keyset:
    """One sort order: `field` (never null) descending, then pk descending."""

    name: str
    field: str
    dump: Callable[[Any], Any]  # a field value to JSON
    load: Callable[[Any], Any]  # JSON back to a field value; raises ValueError or TypeError on junk


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Model]
    next_cursor: str | None
    is_first: bool

    def __iter__(self) -> Iterator[Model]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def keyset_page(queryset: QuerySet, *, keyset: Keyset, after: str, size: int, salt: str) -> KeysetPage:
    position = cursor_load(after, keyset=keyset, salt=salt)
    if position is not None:
        value, pk = position
        # The redundant `<=` lets the database seek into an index on (field, pk) instead of
        # walking it from the top and filtering every row before the position.
        queryset = queryset.filter(
            Q(**{f"{keyset.field}__lt": value}) | Q(**{keyset.field: value, "pk__lt": pk}),
            **{f"{keyset.field}__lte": value},
        )
    rows = list(queryset.order_by(f"-{keyset.field}", "-pk")[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = cursor_dump(getattr(last, keyset.field), last.pk, keyset=keyset, salt=salt)
    return KeysetPage(rows=rows, next_cursor=next_cursor, is_first=position is None)


def cursor_dump(value: Any, pk: int, *, keyset: Keyset, salt: str) -> str:
    return signing.dumps([keyset.name, keyset.dump(value), pk], salt=salt, compress=False)


def cursor_load(cursor: str, *, keyset: Keyset, salt: str) -> tuple[Any, int] | None:
    """The position a cursor names, or None for no cursor, a bad one, or one of another sort."""
    if not cursor:
        return None
    try:
        name, value, pk = signing.loads(cursor, salt=salt)
        if name != keyset.name or type(pk) is not int:
            return None
        return keyset.load(value), pk
    except (signing.BadSignature, ValueError, TypeError):
        return None
