"""The default survivorship policy of a merge: per field, whose value the surviving lead keeps.

A reviewer can override any field on the merge screen; these are the defaults (and the choices of
an automatic merge). Values in, choices out: plain Python, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Side = Literal["survivor", "merged"]

# Lead columns a reviewer picks per field (the rest follow rules: ids, score, timestamps, custom fields).
MERGE_FIELDS = (
    "first_name", "last_name", "email", "phone", "job_title", "company_name", "street_address", "address_line2",
    "city", "region", "postal_code", "country", "language", "time_zone", "source", "lifecycle_stage", "status",
    "company_id", "owner_id", "team_id",
)  # fmt: skip
# Higher wins when both values are known ("most trusted source"); equal trust → the most recent value.
SOURCE_TRUST: Mapping[str, int] = {"manual": 3, "crm": 3, "import": 2, "csv_import": 2, "api": 1}


def filled(value: Any) -> bool:
    """Whether a field holds a value (``None`` and ``""`` are empty; ``0`` and ``False`` are values)."""
    return value is not None and value != ""


def merged_is_preferred(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    """Whether the merged lead's known values beat the survivor's: the more trusted source, then the more
    recently updated lead (``updated_at`` as ISO text or datetimes of one kind; ties keep the survivor)."""
    trust_s = SOURCE_TRUST.get(str(survivor.get("source") or ""), 0)
    trust_m = SOURCE_TRUST.get(str(merged.get("source") or ""), 0)
    return (trust_m, merged.get("updated_at") or "") > (trust_s, survivor.get("updated_at") or "")


def default_choices(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Side]:
    """Per field of :data:`MERGE_FIELDS`, whose value survives: a known value beats an empty one; when
    both are known and differ, the more trusted source wins, then the more recently updated lead.

    Invariants: every field gets a side; an equal or empty merged value keeps the survivor's; the kept
    value is empty only when both are.
    """
    prefer_merged = merged_is_preferred(survivor, merged)
    choices: dict[str, Side] = {}
    for name in MERGE_FIELDS:
        s, m = survivor.get(name), merged.get(name)
        if not filled(m) or s == m:
            choices[name] = "survivor"
        elif not filled(s):
            choices[name] = "merged"
        else:
            choices[name] = "merged" if prefer_merged else "survivor"
    return choices
