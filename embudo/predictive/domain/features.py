"""Features: what a lead (or a row of an old CRM's CSV) looks like to the model.

Rows are plain dicts ``{column: value}``. ``infer_schema`` types every column from the training rows
(numeric when every known value parses as a number, else categorical with its most frequent values),
``encode`` turns rows into the float matrix the model reads (categories as codes, unknown or missing
as NaN, behaviour counts missing as 0).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

# HistGradientBoosting bins categories into at most 255 codes (one kept for "missing").
MAX_CATEGORIES = 250
# Columns prefixed like this count behaviour events: a lead without such an event has 0, not "unknown".
COUNT_PREFIX = "activity."
MISSING_LABEL = "(missing)"

Row = Mapping[str, Any]


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def as_number(value: Any) -> float | None:
    """The value as a float, or None when it is not a number (booleans are categories, not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


@dataclass(frozen=True)
class Column:
    name: str
    kind: Literal["numeric", "categorical"]
    categories: tuple[str, ...] = ()
    # The "typical" value a factor is measured against: the median, or the most frequent category's code.
    baseline: float = math.nan

    @property
    def is_count(self) -> bool:
        return self.name.startswith(COUNT_PREFIX)

    def display(self, code: float) -> str:
        if math.isnan(code):
            return MISSING_LABEL
        if self.kind == "categorical":
            return self.categories[int(code)]
        return f"{code:g}"


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def categorical_mask(self) -> list[bool]:
        return [c.kind == "categorical" for c in self.columns]


def infer_schema(rows: Sequence[Row], *, drop: Iterable[str] = (), max_categories: int = MAX_CATEGORIES) -> Schema:
    """Type every column of ``rows`` (keys in order of first appearance), leaving out ``drop``, constant
    columns and identifier-like text columns (nearly one distinct value per row)."""
    dropped = set(drop)
    names: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in dropped:
                names.setdefault(key, None)
    columns = []
    for name in names:
        column = _infer_column(name, [row.get(name) for row in rows], max_categories)
        if column is not None:
            columns.append(column)
    return Schema(columns=tuple(columns))


def _infer_column(name: str, values: list[Any], max_categories: int) -> Column | None:
    known = [v for v in values if not is_missing(v)]
    if name.startswith(COUNT_PREFIX):
        tallies = [as_number(v) or 0.0 for v in known] + [0.0] * (len(values) - len(known))
        if len(set(tallies)) < 2:
            return None
        return Column(name=name, kind="numeric", baseline=float(np.median(tallies)))
    if not known:
        return None
    parsed = [as_number(v) for v in known]
    numbers = [n for n in parsed if n is not None]
    if len(numbers) == len(parsed):
        if len(set(numbers)) < 2 and len(known) == len(values):
            return None
        return Column(name=name, kind="numeric", baseline=float(np.median(numbers)))
    counts = Counter(_text(v) for v in known)
    if len(counts) < 2 and len(known) == len(values):
        return None
    if len(counts) > 50 and len(counts) > 0.9 * len(known):
        return None  # an identifier (email, name, row id): nothing to learn that generalises
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:max_categories]
    categories = tuple(value for value, _ in ranked)
    return Column(name=name, kind="categorical", categories=categories, baseline=0.0)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def encode(rows: Sequence[Row], schema: Schema) -> np.ndarray:
    """The (rows × columns) float matrix: numbers as they are, categories as codes, NaN for unknown."""
    matrix = np.full((len(rows), len(schema.columns)), np.nan, dtype=np.float64)
    for j, column in enumerate(schema.columns):
        lookup = {value: float(code) for code, value in enumerate(column.categories)}
        for i, row in enumerate(rows):
            value = row.get(column.name)
            if is_missing(value):
                if column.is_count:
                    matrix[i, j] = 0.0
                continue
            if column.kind == "numeric":
                number = as_number(value)
                matrix[i, j] = np.nan if number is None else number
            else:
                matrix[i, j] = lookup.get(_text(value), np.nan)
    return matrix


# --- Leads -----------------------------------------------------------------------------------------

SENIORITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("student", re.compile(r"\b(student|estudiante|intern|becari[oa]|trainee|pr[aá]cticas)\b")),
    (
        "c_level",
        re.compile(
            r"\b(ceo|cto|cfo|coo|cmo|cio|ciso|chief|founder|co-?founder|fundador[a]?|owner|"
            r"propietari[oa]|president[ea]?|presidente|socio|partner|director general|"
            r"managing director)\b"
        ),
    ),  # fmt: skip
    ("vp", re.compile(r"\b(vp|svp|evp|vice ?president|vicepresident[ea])\b")),
    ("director", re.compile(r"\b(director[a]?|head|jef[ea] de|responsable)\b")),
    ("manager", re.compile(r"\b(manager|gerente|lead|l[ií]der|coordinador[a]?|supervisor[a]?)\b")),
)


def seniority(job_title: str) -> str:
    """A coarse seniority bucket from a free-text job title (English and Spanish tokens)."""
    title = (job_title or "").lower()
    if not title.strip():
        return ""
    for label, pattern in SENIORITY_PATTERNS:
        if pattern.search(title):
            return label
    return "individual"


LEAD_FIELDS = (
    "country", "language", "source", "email_domain_kind", "company_industry", "company_size", "company_country",
)  # fmt: skip


def lead_features(lead: Row, activity_counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The model's view of a lead: fit (profile, company, BANT) and behaviour (events per type).

    ``lead`` holds the plain values of the lead and its company (keys as in ``LEAD_FIELDS`` plus
    ``job_title`` and ``bant_known``); ``activity_counts`` maps ``activity.<type>`` to a count."""
    features: dict[str, Any] = {name: (lead.get(name) or "") for name in LEAD_FIELDS}
    features["seniority"] = seniority(str(lead.get("job_title") or ""))
    features["bant_known"] = int(lead.get("bant_known") or 0)
    for event_type, count in (activity_counts or {}).items():
        key = event_type if event_type.startswith(COUNT_PREFIX) else COUNT_PREFIX + event_type
        features[key] = int(count)
    return features
