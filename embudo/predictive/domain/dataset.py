"""Reading a labelled CSV (an old CRM's export, a benchmark set) into rows and 0/1 labels."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Positive values recognised without --positive (lower-cased).
POSITIVE_WORDS = ("won", "yes", "true", "1", "si", "sí", "ganado", "ganada", "converted", "customer", "y")


class DatasetError(ValueError):
    """A CSV that cannot be learned from; the message says why, for a person."""


@dataclass
class Dataset:
    rows: list[dict[str, Any]]
    labels: list[int]
    columns: list[str]
    skipped: int = 0  # rows without a target value
    positive: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    personal_columns: list[str] = field(default_factory=list)  # left out: see personal_data_columns

    @property
    def positives(self) -> int:
        return sum(self.labels)


def pick_positive(values: Iterable[str], positive: str | None) -> str:
    distinct = sorted({v.strip() for v in values if v.strip()})
    if positive is not None:
        if positive not in distinct:
            raise DatasetError(
                f"No row has the positive value {positive!r}; the target has: {', '.join(distinct[:10])}."
            )
        return positive
    for word in POSITIVE_WORDS:
        for value in distinct:
            if value.lower() == word:
                return value
    raise DatasetError(
        f"Cannot tell which target value means won among: {', '.join(distinct[:10])}. Give it with --positive."
    )


def read_csv(
    lines: Iterable[str], *, target: str, positive: str | None = None, drop: Sequence[str] = (),
    mapping: Mapping[str, str] | None = None, source: str = "CSV",
) -> Dataset:  # fmt: skip
    """Rows (without the target and dropped columns, renamed by ``mapping``) and labels (1 = positive).

    Raises DatasetError for a missing column, an empty file, or a target with one value only."""
    reader = csv.DictReader(lines)
    header = list(reader.fieldnames or [])
    if not header:
        raise DatasetError(f"{source} is empty: no header row.")
    missing = [c for c in [target, *drop, *(mapping or {})] if c not in header]
    if missing:
        raise DatasetError(
            f"{source} has no column {', '.join(repr(c) for c in missing)}; it has: {', '.join(header)}."
        )
    dropped = {target, *drop}
    rename = dict(mapping or {})
    raw: list[tuple[dict[str, Any], str]] = []
    skipped = 0
    for record in reader:
        value = (record.get(target) or "").strip()
        if not value:
            skipped += 1
            continue
        row = {rename.get(k, k): v for k, v in record.items() if k not in dropped and k is not None}
        raw.append((row, value))
    if not raw:
        raise DatasetError(f"{source} has no rows with a value in {target!r}.")
    counts = Counter(value for _, value in raw)
    chosen = pick_positive(counts, positive)
    if len(counts) < 2:
        raise DatasetError(f"The target {target!r} has one value only ({chosen!r}): there is nothing to learn.")
    labels = [1 if value == chosen else 0 for _, value in raw]
    if sum(labels) == len(labels):
        raise DatasetError(f"Every row of {source} is positive: there is nothing to learn.")
    columns = [rename.get(c, c) for c in header if c not in dropped]
    rows = [row for row, _ in raw]
    personal = personal_data_columns(rows, columns)
    if personal:
        rows = [{k: v for k, v in row.items() if k not in personal} for row in rows]
        columns = [c for c in columns if c not in personal]
    return Dataset(rows=rows, labels=labels, columns=columns, skipped=skipped, positive=chosen, mapping=rename,
                   personal_columns=personal)  # fmt: skip


# Column names that hold who a person is, never what predicts a sale (normalised: lower case, no separators).
PERSONAL_NAMES = frozenset(
    {"email", "emailaddress", "mail", "correo", "correoelectronico", "phone", "phonenumber", "telephone", "tel",
     "mobile", "movil", "telefono", "name", "fullname", "firstname", "lastname", "givenname", "surname",
     "familyname", "nombre", "apellido", "apellidos", "contact", "contactname", "address", "streetaddress",
     "street", "direccion", "calle", "ip", "ipaddress", "birthdate", "dateofbirth", "dob", "fechanacimiento",
     "dni", "nif", "nie", "passport", "ssn", "taxid", "iban"}
)  # fmt: skip
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")


def _normal_name(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def personal_data_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    """Columns that identify people (GDPR data minimisation: training needs outcomes and traits, not
    identities): named like a contact field, or holding mostly emails or phone numbers, or free text
    with a distinct value in nearly every row (names, ids). These are never stored."""
    personal = []
    for column in columns:
        values = [str(v).strip() for row in rows if (v := row.get(column)) not in (None, "")]
        values = [v for v in values if v]
        if _normal_name(column) in PERSONAL_NAMES:
            personal.append(column)
            continue
        if not values:
            continue
        emails = sum(1 for v in values if _EMAIL_LIKE.match(v))
        phones = sum(1 for v in values if _PHONE_LIKE.match(v) and sum(ch.isdigit() for ch in v) >= 7)
        if emails > len(values) / 2 or phones > len(values) / 2:
            personal.append(column)
            continue
        numeric = sum(1 for v in values if _is_number(v))
        distinct = len(set(values))
        if numeric < len(values) and distinct > 50 and distinct > 0.9 * len(values):
            personal.append(column)
    return personal


def _is_number(value: str) -> bool:
    try:
        float(value.replace(",", "."))
    except ValueError:
        return False
    return True
