"""Rule conditions in HTML forms: rows of ``cond-<n>-field / -op / -value`` inputs ↔ the condition dicts
of ``core.domain.conditions`` (one editor for routing rules and SLA policies; template
``includes/condition_rows.html``). Validation stays with the service that parses the conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from embudo.core.domain import conditions as cond

OPERATOR_LABELS: dict[str, Any] = {
    "equals": _("is"), "not_equals": _("is not"), "in": _("is one of"), "not_in": _("is none of"),
    "contains": _("contains"), "not_contains": _("does not contain"), "starts_with": _("starts with"),
    "gte": _("is at least"), "lte": _("is at most"), "between": _("is between"),
    "missing": _("is empty"), "present": _("is not empty"),
}  # fmt: skip
LIST_OPS = ("in", "not_in", "contains", "not_contains", "starts_with", "between")
EMPTY_CONDITION_ROWS = 2


def operator_choices() -> list[tuple[str, Any]]:
    return [(op, OPERATOR_LABELS.get(op, op)) for op in cond.OPERATORS]


def value_to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_number_text(v) for v in value)
    return _number_text(value)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_to_value(op: str, text: str) -> Any:
    """ "ES, PT" → ["ES", "PT"] for list operators; one text otherwise; nothing for presence tests."""
    text = text.strip()
    if op in cond.PRESENCE_OPS:
        return None
    if op in LIST_OPS and "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    if op in ("in", "not_in"):
        return [text] if text else []
    return text


def conditions_from_post(data: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows ``cond-<n>-field/op/value``; a row without a field is ignored (the blank rows of the form)."""
    indexes = sorted({int(k.split("-")[1]) for k in data if k.startswith("cond-") and k.split("-")[1].isdigit()})
    result: list[dict[str, Any]] = []
    for i in indexes:
        field_name = (data.get(f"cond-{i}-field") or "").strip()
        if not field_name:
            continue
        op = (data.get(f"cond-{i}-op") or "equals").strip()
        raw: dict[str, Any] = {"field": field_name, "op": op}
        value = text_to_value(op, data.get(f"cond-{i}-value") or "")
        if value is not None:
            raw["value"] = value
        result.append(raw)
    return result


def condition_rows(
    conditions: Sequence[Mapping[str, Any]], *, blanks: int = EMPTY_CONDITION_ROWS
) -> list[dict[str, Any]]:
    """The rows the editor shows: the given conditions, then ``blanks`` empty rows to add more."""
    rows = [
        {"index": i, "field": c.get("field", ""), "op": c.get("op", "equals"), "value": value_to_text(c.get("value"))}
        for i, c in enumerate(conditions)
    ]
    rows += [{"index": len(rows) + j, "field": "", "op": "equals", "value": ""} for j in range(blanks)]
    return rows
