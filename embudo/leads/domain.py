"""Pure lead rules: field limits, light normalization and validation (no Django imports).

Intake (capture context) adds full normalization (E.164 phones, names, countries); this module
holds what every write of a lead must respect, whatever the channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

MAX_LENGTHS: Mapping[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 32,
    "job_title": 150,
    "company_name": 200,
    "street_address": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "country": 2,
    "language": 5,
    "source": 64,
}
TEXT_FIELDS = tuple(MAX_LENGTHS)
# PostgreSQL text and jsonb cannot hold U+0000.
NUL = "\x00"
NUL_MESSAGE = "Must not contain NUL characters."
MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_FIELD_KEY = 64
MAX_CUSTOM_FIELDS_SIZE = 10_000
LIFECYCLE_STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "pql", "disqualified")
STATUSES = ("new", "working", "nurturing", "qualified", "disqualified", "converted")
GRADES = ("cold", "warm", "hot")
LANGUAGES = ("en", "es")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-/]+$")
_WHITESPACE = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class FieldErrors:
    errors: Mapping[str, tuple[str, ...]]

    def __bool__(self) -> bool:
        return bool(self.errors)


def clean_text(value: str) -> str:
    """Trim and collapse inner whitespace."""
    return _WHITESPACE.sub(" ", value).strip()


def normalize_email(value: str) -> str:
    """Syntax-check an email without network and return it lower-cased; raises ValueError."""
    value = value.strip()
    if not value:
        return ""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def phone_digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def normalize_phone(value: str) -> str:
    """Keep a leading + and the digits; raises ValueError for text that is not a phone number."""
    value = value.strip()
    if not value:
        return ""
    digits = _national_digits(value)
    if not _PHONE_CHARS.match(value) or not 6 <= len(digits) <= 15:
        raise ValueError("Enter a phone number: 6 to 15 digits, optionally starting with +.")
    return ("+" if _is_international(value) else "") + digits


def _is_international(value: str) -> bool:
    # Separators do not count: "0/0 34…" and "0034…" both use the international prefix.
    compact = _PHONE_SEPARATORS.sub("", value)
    return compact.startswith(("+", "00"))


def _national_digits(value: str) -> str:
    """The digits of a phone number, without the international "00" prefix (it means "+")."""
    digits = phone_digits(value)
    if not value.lstrip().startswith("+") and _is_international(value):
        return digits[2:]
    return digits


def clean_lead_fields(data: Mapping[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Validate and normalize the text/choice fields present in ``data``.

    Returns the cleaned values and per-field messages; callers must store nothing when there
    are errors.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, raw in data.items():
        if field in TEXT_FIELDS:
            if raw is None:
                raw = ""
            if not isinstance(raw, str):
                fail(field, "Must be text.")
                continue
            value = clean_text(raw)
            if NUL in value:
                fail(field, NUL_MESSAGE)
                continue
            if len(value) > MAX_LENGTHS[field]:
                fail(field, f"At most {MAX_LENGTHS[field]} characters.")
                continue
            try:
                if field == "email":
                    value = normalize_email(value)
                elif field == "phone":
                    value = normalize_phone(value)
                elif field == "country":
                    value = value.upper()
                    if value and not re.fullmatch(r"[A-Z]{2}", value):
                        raise ValueError("Use a two-letter ISO 3166 country code, e.g. ES.")
                elif field == "language":
                    value = value.lower()
                    if value and value not in LANGUAGES:
                        raise ValueError(f"Use one of: {', '.join(LANGUAGES)}.")
            except ValueError as exc:
                fail(field, str(exc))
                continue
            cleaned[field] = value
        elif field == "custom_fields":
            if raw is None:
                raw = {}
            message = custom_fields_error(raw)
            if message:
                fail(field, message)
                continue
            cleaned[field] = raw
        elif field in ("lifecycle_stage", "status", "grade"):
            allowed = {"lifecycle_stage": LIFECYCLE_STAGES, "status": STATUSES, "grade": GRADES}[field]
            if raw not in allowed:
                fail(field, f"Use one of: {', '.join(allowed)}.")
                continue
            cleaned[field] = raw
        else:
            cleaned[field] = raw
    return cleaned, FieldErrors({k: tuple(v) for k, v in errors.items()})


def custom_fields_error(value: object) -> str:
    """Why ``value`` cannot be stored as custom fields, or "" when it can."""
    if not isinstance(value, dict):
        return "Must be an object."
    if len(value) > MAX_CUSTOM_FIELDS:
        return f"At most {MAX_CUSTOM_FIELDS} custom fields."
    if any(not isinstance(k, str) or not k or len(k) > MAX_CUSTOM_FIELD_KEY for k in value):
        return f"Custom field names must have 1 to {MAX_CUSTOM_FIELD_KEY} characters."
    try:
        dumped = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return "Values must be JSON."
    size = len(dumped)
    if NUL in dumped or "\\u0000" in dumped:
        return NUL_MESSAGE
    if size > MAX_CUSTOM_FIELDS_SIZE:
        return f"At most {MAX_CUSTOM_FIELDS_SIZE} characters of custom fields in all."
    return ""


def can_match(*values: str | None) -> bool:
    """False when a filter value could never be stored (so it matches nothing and must not reach SQL)."""
    return not any(value and NUL in value for value in values)


def has_identity(values: Mapping[str, Any]) -> bool:
    """A lead needs at least a way to reach or name the person."""
    return any(values.get(key) for key in ("email", "phone", "first_name", "last_name"))


# Accent folding for search, shared with PostgreSQL: migration 0006 builds ``embudo_search_fold`` from
# these two strings, so "garcia" finds "García" and "nunez" finds "Núñez" (and the reverse) with the
# same rule on both sides. Lower-case letters only: folding runs after lower().
SEARCH_FOLD_FROM = "áàâäãåāăąçćčďéèêëēėęěíìîïīįñńňóòôöõøōőŕřśšşťúùûüūůűųýÿźżž"
SEARCH_FOLD_TO = "aaaaaaaaacccdeeeeeeeeiiiiiinnnoooooooorrssstuuuuuuuuyyzzz"
_SEARCH_FOLD = str.maketrans(SEARCH_FOLD_FROM, SEARCH_FOLD_TO)


def fold_for_search(text: str) -> str:
    """Lower case without accents, as the stored search haystack is (``Núñez`` → ``nunez``)."""
    return text.lower().translate(_SEARCH_FOLD)


def search_terms(query: str) -> str:
    """What to look for in a lead's search haystack: folded text (lower case, no accents), or bare
    digits for phones."""
    query = fold_for_search(clean_text(query))
    if query and _PHONE_CHARS.match(query):
        # Stored phones are "+<digits>", so look for the digits as normalize_phone keeps them.
        digits = _national_digits(query)
        if len(digits) >= 4:
            return digits
    return query


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every key of ``after`` whose value differs from ``before``."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


# Second-level labels under a country code that are not the organisation's name (acme.com.mx, acme.co.uk).
_GENERIC_SECOND_LEVEL = frozenset({"com", "co", "org", "net", "gob", "gov", "edu", "ac", "nom", "info"})


def company_name_from_domain(domain_name: str) -> str:
    """A readable company name when only the domain is known: ``ferreteria-ruiz.es`` → ``Ferreteria Ruiz``."""
    labels = [label for label in domain_name.lower().strip(".").split(".") if label]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVEL:
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    if not labels:
        return domain_name
    words = re.split(r"[-_]+", labels[-1])
    return " ".join(word.capitalize() for word in words if word) or domain_name
