"""Conditions on a record: the one rule language of scoring (fit rules, event property filters) and
routing (rule sets, SLA policies).

A condition is ``{"field": name, "op": operator, "value": ...}``; a rule matches when all of its
conditions match. Two evaluators share the semantics below, and a test holds them equal on PostgreSQL:

- :func:`matches` evaluates a record (a mapping of field → value) in Python: routing at intake, previews;
- :func:`to_sql` compiles to a SQL predicate over column expressions: scoring's set-based rescoring,
  backtests and audience counts over a million leads.

Semantics (all text comparisons are case-insensitive and ignore surrounding whitespace):

- ``equals`` / ``not_equals`` value: text. A missing value (None or "") never equals anything, so
  ``not_equals`` holds for it.
- ``in`` / ``not_in`` value: list of texts.
- ``contains`` / ``not_contains`` value: text or list of texts (any of them is a substring).
- ``starts_with`` value: text or list of texts.
- ``gte`` / ``lte`` value: number; ``between`` value: ``[low, high]`` inclusive. A value that is not a
  number never matches.
- ``missing`` / ``present``: no value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TEXT_OPS = ("equals", "not_equals", "in", "not_in", "contains", "not_contains", "starts_with")
NUMBER_OPS = ("gte", "lte", "between")
PRESENCE_OPS = ("missing", "present")
OPERATORS = TEXT_OPS + NUMBER_OPS + PRESENCE_OPS
_LIST_OPS = ("in", "not_in")
_ANY_OPS = ("contains", "not_contains", "starts_with")
# The number syntax both evaluators accept: PostgreSQL casts exactly what this matches.
NUMBER_RE = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")
_SQL_NUMBER_RE = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"
MAX_VALUES = 200
MAX_TEXT = 500


class ConditionError(ValueError):
    """A condition that cannot be evaluated; ``fields`` maps ``conditions.<i>.<part>`` to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    # Normalised: texts are stripped and lower-cased; lists are tuples; numbers are floats.
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "op": self.op, "value": value}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip(" ").translate(_AS_POSTGRES_LOWER).lower()


# PostgreSQL's lower() (libc, C.UTF-8) maps character by character; Python's str.lower() applies two
# special cases that it does not: "İ" → "i̇" (two code points) and a word-final "Σ" → "ς". Mapping them
# first keeps matches() equal to to_sql() (tested in embudo/scoring/tests/test_conditions_sql.py).
_AS_POSTGRES_LOWER = {0x130: "i", 0x3A3: "σ"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = str(value)
    return float(text) if NUMBER_RE.match(text) else None


def parse(
    raw: Iterable[Mapping[str, Any]], *, fields: Iterable[str] | None = None, prefix: str = "conditions"
) -> list[Condition]:
    """Validate raw conditions (from a form or the API). ``fields`` restricts the field names allowed."""
    allowed = set(fields) if fields is not None else None
    errors: dict[str, list[str]] = {}
    parsed: list[Condition] = []
    for i, item in enumerate(raw):
        where = f"{prefix}.{i}"
        if not isinstance(item, Mapping):
            errors[where] = ["Give an object with field, op and value."]
            continue
        field = str(item.get("field") or "").strip()
        op = str(item.get("op") or "").strip()
        value = item.get("value")
        if not field:
            errors[f"{where}.field"] = ["Choose a field."]
        elif allowed is not None and field not in allowed and not field.startswith("custom."):
            errors[f"{where}.field"] = [f"Unknown field {field!r}."]
        if op not in OPERATORS:
            errors[f"{where}.op"] = [f"Choose one of: {', '.join(OPERATORS)}."]
            continue
        try:
            parsed.append(Condition(field, op, _normalise_value(op, value)))
        except ValueError as exc:
            errors[f"{where}.value"] = [str(exc)]
    if errors:
        raise ConditionError(errors)
    return parsed


def _normalise_value(op: str, value: Any) -> Any:
    if op in PRESENCE_OPS:
        return None
    if op in NUMBER_OPS:
        if op == "between":
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
                raise ValueError("Give two numbers: [low, high].")
            low, high = (_number(v) for v in value)
            if low is None or high is None:
                raise ValueError("Give two numbers: [low, high].")
            if low > high:
                raise ValueError("The low number must not be above the high one.")
            return (low, high)
        number = _number(value)
        if number is None:
            raise ValueError("Give a number.")
        return number
    if op in _LIST_OPS or op in _ANY_OPS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise ValueError("Give a text or a list of texts.")
        texts = tuple(dict.fromkeys(t for t in (_text(v) for v in items) if t))
        if not texts:
            raise ValueError("Give at least one value.")
        if len(texts) > MAX_VALUES or any(len(t) > MAX_TEXT for t in texts):
            raise ValueError(f"At most {MAX_VALUES} values of {MAX_TEXT} characters.")
        return texts
    text = _text(value)
    if not text:
        raise ValueError("Give a value.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"At most {MAX_TEXT} characters.")
    return text


def condition_matches(condition: Condition, actual: Any) -> bool:
    op, value = condition.op, condition.value
    if op in PRESENCE_OPS:
        present = _text(actual) != ""
        return present if op == "present" else not present
    if op in NUMBER_OPS:
        number = _number(actual)
        if number is None:
            return False
        if op == "gte":
            return number >= value
        if op == "lte":
            return number <= value
        return bool(value[0] <= number <= value[1])
    text = _text(actual)
    if op == "equals":
        return text != "" and text == value
    if op == "not_equals":
        return text != value
    if op == "in":
        return text in value
    if op == "not_in":
        return text not in value
    if op == "contains":
        return any(v in text for v in value)
    if op == "not_contains":
        return not any(v in text for v in value)
    return any(text.startswith(v) for v in value)  # starts_with


def matches(conditions: Iterable[Condition], record: Mapping[str, Any]) -> bool:
    """True when every condition holds for ``record`` (no conditions: always)."""
    return all(condition_matches(c, record.get(c.field)) for c in conditions)


def failing(conditions: Iterable[Condition], record: Mapping[str, Any]) -> list[Condition]:
    """The conditions that do not hold: the "why not" of a preview."""
    return [c for c in conditions if not condition_matches(c, record.get(c.field))]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_sql(
    conditions: Iterable[Condition], columns: Mapping[str, str], *, custom_column: str | None = None
) -> tuple[str, list[Any]]:
    """Compile to a SQL predicate; ``columns`` maps a field name to a trusted SQL expression.

    ``custom.<key>`` fields read ``<custom_column> ->> key`` when ``custom_column`` is given. Values
    always travel as parameters (``%s``), never in the SQL text.
    """
    parts: list[str] = []
    params: list[Any] = []
    for c in conditions:
        if c.field in columns:
            expr = columns[c.field]
        elif custom_column and c.field.startswith("custom."):
            expr = f"({custom_column} ->> %s)"
        else:
            raise ConditionError({c.field: [f"Unknown field {c.field!r}."]})
        key_params = [c.field.removeprefix("custom.")] if expr.endswith("->> %s)") else []
        text = f"lower(btrim(coalesce(({expr})::text, '')))"
        op, value = c.op, c.value
        if op in PRESENCE_OPS:
            parts.append(f"({text} {'<>' if op == 'present' else '='} '')")
            params += key_params
        elif op in NUMBER_OPS:
            raw = f"coalesce(({expr})::text, '')"
            num = f"(CASE WHEN {raw} ~ '{_SQL_NUMBER_RE}' THEN ({raw})::numeric END)"
            if op == "between":
                parts.append(f"({num} BETWEEN %s AND %s)")
                params += key_params * 2 + [value[0], value[1]]
            else:
                parts.append(f"({num} {'>=' if op == 'gte' else '<='} %s)")
                params += key_params * 2 + [value]
        elif op == "equals":
            parts.append(f"({text} <> '' AND {text} = %s)")
            params += key_params * 2 + [value]
        elif op == "not_equals":
            parts.append(f"({text} <> %s)")
            params += key_params + [value]
        elif op in ("in", "not_in"):
            parts.append(f"({'NOT ' if op == 'not_in' else ''}({text} = ANY(%s)))")
            params += key_params + [list(value)]
        else:
            patterns = [(f"%{_like_escape(v)}%" if op != "starts_with" else f"{_like_escape(v)}%") for v in value]
            parts.append(f"({'NOT ' if op == 'not_contains' else ''}({text} LIKE ANY(%s)))")
            params += key_params + [patterns]
    return (" AND ".join(parts) or "TRUE"), params


def describe(condition: Condition) -> str:
    """A short English rendering for explanations ("job_title contains director, head")."""
    value = condition.value
    if condition.op in PRESENCE_OPS:
        return f"{condition.field} is {condition.op}"
    if isinstance(value, tuple):
        shown = " and ".join(_fmt(v) for v in value) if condition.op == "between" else ", ".join(map(_fmt, value))
    else:
        shown = _fmt(value)
    return f"{condition.field} {condition.op.replace('_', ' ')} {shown}"


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
