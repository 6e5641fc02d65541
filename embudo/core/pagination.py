"""Keyset ("seek") pagination: pages stay fast at any depth, unlike OFFSET.

A cursor is an opaque, URL-safe encoding of the last row's sort key and id.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Expression, F, Model, QuerySet, Value
from django.db.models.fields import BooleanField

T = TypeVar("T", bound=Model)


class RowLessThan(Expression):
    """``(a, b) < (x, y)`` (or ``>``): PostgreSQL compares row values and can use a composite index."""

    output_field = BooleanField()

    def __init__(self, columns: list[str], values: list[Any], *, greater: bool = False):
        super().__init__()
        self.columns = [F(c) for c in columns]
        self.values = [Value(v) for v in values]
        self.greater = greater

    def get_source_expressions(self) -> list[Any]:
        return [*self.columns, *self.values]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        n = len(self.columns)
        self.columns, self.values = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        params: list[Any] = []
        parts = []
        for group in (self.columns, self.values):
            sqls = []
            for expr in group:
                sql, p = compiler.compile(expr)
                sqls.append(sql)
                params.extend(p)
            parts.append("(" + ", ".join(sqls) + ")")
        op = ">" if self.greater else "<"
        return f"{parts[0]} {op} ROW{parts[1]}", params


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValueError("Invalid cursor.") from exc
    if not isinstance(values, list):
        raise ValueError("Invalid cursor.")
    return values


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _field(model: type[Model], path: str) -> Any:
    """The model field at ``path`` ("score" or, across one-to-one relations, "score_rank__score")."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model  # type: ignore[assignment]
    return model._meta.get_field(name)


def _value(row: Model, path: str) -> Any:
    value: Any = row
    for name in path.split("__"):
        value = getattr(value, name)
    return value


def _cursor_values(model: type[Model], key: str, values: list[Any]) -> list[Any]:
    """Check a decoded cursor against the sort key's field types (a forged cursor must not reach SQL)."""
    if len(values) != 2:
        raise ValueError("Invalid cursor.")
    converted = []
    for name, value in zip((key, "id"), values, strict=True):
        if value is None or isinstance(value, dict | list | bool) or (isinstance(value, str) and "\x00" in value):
            raise ValueError("Invalid cursor.")
        try:
            converted.append(_field(model, name).to_python(value))
        except (ValidationError, TypeError, ValueError) as exc:
            raise ValueError("Invalid cursor.") from exc
    return converted


def seek(queryset: QuerySet[T], *, key: str, descending: bool, cursor: str | None, limit: int) -> Page[T]:
    """One page of ``queryset`` ordered by (``key``, id), both ascending or both descending.

    ``key`` must be a NOT NULL column: a row comparison with NULL is never true, so rows with a
    NULL key would silently fall off the following pages. It may follow one-to-one relations
    ("score_rank__score"); the caller joins them (``select_related``) so reading the key costs no query.
    """
    field = _field(queryset.model, key)
    if getattr(field, "null", False):
        raise TypeError(f"seek() needs a NOT NULL sort key; {key!r} is nullable.")
    if cursor:
        values = _cursor_values(queryset.model, key, decode_cursor(cursor))
        queryset = queryset.filter(RowLessThan([key, "id"], values, greater=not descending))
    order = [f"-{key}", "-id"] if descending else [key, "id"]
    rows = list(queryset.order_by(*order)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_value(last, key), last.pk])
    return Page(items=rows, next_cursor=next_cursor)
