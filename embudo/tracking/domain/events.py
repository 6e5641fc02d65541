"""Validation of incoming behaviour events: values in, a clean event or field messages out.

Limits (documented in the API):

- ``type``: a built-in type or a custom slug ``[a-z][a-z0-9_]{0,39}`` (stored as ``activity.<type>``);
- ``timestamp``: ISO 8601 with a time zone (naive means UTC), not more than 5 minutes in the future
  and not older than 400 days; default: now;
- exactly one of ``lead_id`` (positive integer), ``email`` or ``visitor_id`` (8-64 of ``A-Za-z0-9_-``);
- ``properties``: a JSON object, at most 8 KB serialized, 50 keys, keys up to 64 characters;
- ``id``: optional client id (1-100 printable characters) that makes a retried event a duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BUILTIN_TYPES = (
    "page_view", "form_submitted", "email_opened", "email_clicked", "email_replied", "content_downloaded",
    "webinar_attended", "demo_requested", "product_signed_up", "product_active",
)  # fmt: skip
PRODUCT_TYPES = frozenset({"product_signed_up", "product_active"})
TYPE_PREFIX = "activity."
TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLIENT_ID_RE = re.compile(r"^[\x21-\x7e]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=400)
MAX_PROPERTIES_BYTES = 8192
MAX_PROPERTIES_KEYS = 50
MAX_KEY_LENGTH = 64
MAX_BATCH = 1000
KNOWN_FIELDS = frozenset({"type", "timestamp", "lead_id", "email", "visitor_id", "properties", "id"})


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~2 µs, a thousand times a batch
class CleanEvent:
    """A valid event, not yet resolved to a lead (``email`` and ``visitor_id`` are looked up in bulk)."""

    type: str  # without the "activity." prefix
    occurred_at: datetime
    lead_id: int | None
    email: str
    visitor_id: str
    properties: dict[str, Any]
    client_id: str
    properties_json: str = "{}"  # compact JSON of ``properties``, computed once by validation

    @property
    def stored_type(self) -> str:
        return TYPE_PREFIX + self.type


Errors = dict[str, list[str]]


def is_visitor_id(value: object) -> bool:
    return isinstance(value, str) and VISITOR_RE.match(value) is not None


def parse_timestamp(raw: object, *, now: datetime) -> tuple[datetime | None, str]:
    """A timezone-aware datetime within the accepted window, or an error message."""
    if raw is None or raw == "":
        return now, ""
    if not isinstance(raw, str):
        return None, "Give an ISO 8601 date and time, e.g. 2026-05-01T10:00:00Z."
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        return None, "Give an ISO 8601 date and time, e.g. 2026-05-01T10:00:00Z."
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value > now + MAX_FUTURE:
        return None, "The timestamp is more than 5 minutes in the future."
    if value < now - MAX_AGE:
        return None, "The timestamp is older than 400 days."
    return value, ""


def _check_properties(raw: object) -> tuple[dict[str, Any], str, str]:
    """(properties, their compact JSON, error message)."""
    if raw is None:
        return {}, "{}", ""
    if not isinstance(raw, Mapping):
        return {}, "", "Give a JSON object."
    if len(raw) > MAX_PROPERTIES_KEYS:
        return {}, "", f"At most {MAX_PROPERTIES_KEYS} properties."
    for key in raw:
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
            if isinstance(key, str) and key and len(key) <= MAX_KEY_LENGTH:
                continue  # a str subclass
            return {}, "", f"Property names are 1 to {MAX_KEY_LENGTH} characters."
    try:
        text = _dumps(raw)
    except (TypeError, ValueError, RecursionError):
        return {}, "", "Give a JSON object."
    if len(text) > MAX_PROPERTIES_BYTES and len(text.encode()) > MAX_PROPERTIES_BYTES:
        return {}, "", f"Properties are limited to {MAX_PROPERTIES_BYTES} bytes of JSON."
    if "\\u0000" in text:
        return {}, "", "Text cannot contain the NUL character."
    return dict(raw), text, ""


def _compact_encoder() -> Callable[[object], str]:
    """Compact JSON (no NaN/Infinity). ``JSONEncoder.encode`` builds its C encoder anew at every call (~1 µs,
    half the time of a small object); this builds it once. No circular-reference check: properties come
    from parsed JSON (a circular value raises RecursionError, which the caller rejects)."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        chunks = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    except TypeError:  # another Python's C encoder signature
        return encoder.encode

    def dumps(value: object) -> str:
        return "".join(chunks(value, 0))

    return dumps


_dumps = _compact_encoder()


def clean_event(raw: object, *, now: datetime) -> tuple[CleanEvent | None, Errors]:
    """Validate one raw event (a JSON object). Returns the clean event, or ``None`` and field messages."""
    if not isinstance(raw, Mapping):
        return None, {"event": ["Give a JSON object."]}
    errors: Errors = {}
    if not KNOWN_FIELDS.issuperset(raw):
        for key in sorted(str(k) for k in raw if k not in KNOWN_FIELDS)[:5]:
            errors[key] = ["Unknown field."]
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        errors["type"] = ["This field is required."]
    elif kind.startswith(TYPE_PREFIX):
        kind = kind.removeprefix(TYPE_PREFIX)
    if isinstance(kind, str) and kind and TYPE_RE.match(kind) is None:
        errors["type"] = [
            "Use a built-in type or lower-case letters, digits and _ (at most 40, starting with a letter)."
        ]
    occurred_at, message = parse_timestamp(raw.get("timestamp"), now=now)
    if message:
        errors["timestamp"] = [message]
    given = [k for k in ("lead_id", "email", "visitor_id") if raw.get(k) not in (None, "")]
    lead_id: int | None = None
    email = visitor_id = ""
    if len(given) != 1:
        errors["lead_id" if not given else given[1]] = ["Give exactly one of lead_id, email or visitor_id."]
    elif given[0] == "lead_id":
        value = raw["lead_id"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors["lead_id"] = ["Give a lead id (a positive integer)."]
        else:
            lead_id = value
    elif given[0] == "email":
        value = raw["email"]
        if not isinstance(value, str) or len(value) > 254 or EMAIL_RE.match(value.strip()) is None:
            errors["email"] = ["Enter a valid email address."]
        else:
            email = value.strip().lower()
    else:
        value = raw["visitor_id"]
        if not is_visitor_id(value):
            errors["visitor_id"] = ["Give 8 to 64 letters, digits, - or _."]
        else:
            visitor_id = str(value)
    properties, properties_json, message = _check_properties(raw.get("properties"))
    if message:
        errors["properties"] = [message]
    client_id = raw.get("id")
    if client_id in (None, ""):
        client_id = ""
    elif not isinstance(client_id, str) or CLIENT_ID_RE.match(client_id) is None:
        errors["id"] = ["Give 1 to 100 visible ASCII characters."]
    if errors:
        return None, errors
    assert isinstance(kind, str) and occurred_at is not None and isinstance(client_id, str)  # noqa: S101 - narrowed above
    return CleanEvent(type=kind, occurred_at=occurred_at, lead_id=lead_id, email=email, visitor_id=visitor_id,
                      properties=properties, client_id=client_id, properties_json=properties_json), {}  # fmt: skip


# --- the snippet's payloads and allowed origins ---------------------------------------------------------

PAGE_VIEW_KEYS = ("url", "path", "title", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term",
                  "utm_content")  # fmt: skip
MAX_PAGE_VALUE = 2000


def page_view_properties(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only the keys the snippet sends for a page view, as bounded strings; page and referrer URLs
    lose their query string and fragment except ``utm_*`` (see ``url_without_personal_data``)."""
    props = {k: str(raw[k])[:MAX_PAGE_VALUE] for k in PAGE_VIEW_KEYS if isinstance(raw.get(k), str) and raw[k]}
    for key in ("url", "referrer"):
        if key in props:
            props[key] = url_without_personal_data(props[key])
    return props


def url_without_personal_data(url: str) -> str:
    """``https://shop.example/p?email=ana@x.es&utm_source=ads#t`` → ``https://shop.example/p?utm_source=ads``.

    Query strings and fragments often carry personal data (emails, names, reset tokens, search terms),
    and a website's visitors consented to analytics, not to that: only the campaign (``utm_*``)
    parameters are kept, which attribution needs. Credentials in the authority are dropped too."""
    parts = urlsplit(url)
    campaign = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=False) if k.startswith("utm_")]
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, urlencode(campaign), ""))


def normalize_origin(value: str) -> str:
    """``https://www.example.com/`` → ``https://www.example.com`` (scheme and host lower-cased); "" if invalid."""
    value = value.strip().rstrip("/").lower()
    match = re.match(r"^(https?)://(\*\.)?([a-z0-9.-]+)(:\d{1,5})?$", value)
    if match is None or not match.group(3) or ".." in match.group(3):
        return ""
    return value


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """``origin`` exactly on the list, or under a ``scheme://*.example.com`` wildcard (subdomains only)."""
    origin = origin.strip().lower()
    if not origin or origin == "null":
        return False
    for entry in allowed:
        if origin == entry:
            return True
        if "://*." in entry:
            scheme, _sep, rest = entry.partition("://*.")
            if origin.startswith(f"{scheme}://") and origin.endswith("." + rest):
                return True
    return False
