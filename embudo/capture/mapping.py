"""How each channel's raw payload becomes lead input. Channels register a mapper per channel name,
so processing (and replay) only needs the stored submission."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    granted: bool = True
    text: str = ""
    text_version: str = ""
    language: str = ""
    page_url: str = ""
    lawful_basis: str = "consent"


@dataclass(frozen=True)
class LeadInput:
    fields: dict[str, object]
    custom_fields: dict[str, Any] = field(default_factory=dict)
    consents: tuple[ConsentInput, ...] = ()
    message: str = ""  # free text to show on the timeline (WhatsApp body, email subject, form message)
    source: str = ""


Mapper = Callable[[Mapping[str, Any]], LeadInput]
MAPPERS: dict[str, Mapper] = {}

LEAD_FIELD_NAMES = (
    "first_name", "last_name", "email", "phone", "job_title", "company_name", "company_domain",
    "street_address", "address_line2", "city", "region", "postal_code", "country", "language", "whatsapp_id",
)  # fmt: skip


def register(channel: str) -> Callable[[Mapper], Mapper]:
    def decorator(mapper: Mapper) -> Mapper:
        MAPPERS[channel] = mapper
        return mapper

    return decorator


def lead_input_for(channel: str, payload: Mapping[str, Any]) -> LeadInput:
    try:
        mapper = MAPPERS[channel]
    except KeyError:
        raise LookupError(f"No mapper registered for channel {channel!r}.") from None
    return mapper(payload)


@register("api")
def map_api(payload: Mapping[str, Any]) -> LeadInput:
    """The API's own field names; everything else known is ignored (the schema already rejected unknowns)."""
    fields = {k: payload[k] for k in LEAD_FIELD_NAMES if payload.get(k) not in (None, "")}
    consents = tuple(
        ConsentInput(
            purpose=str(c.get("purpose", "")),
            granted=bool(c.get("granted", True)),
            text=str(c.get("text", "")),
            text_version=str(c.get("text_version", "")),
            language=str(c.get("language", "")),
            lawful_basis=str(c.get("lawful_basis", "consent")),
        )
        for c in payload.get("consents") or []
        if isinstance(c, Mapping) and c.get("purpose")
    )
    custom = payload.get("custom_fields")
    return LeadInput(
        fields=fields,
        custom_fields=dict(custom) if isinstance(custom, Mapping) else {},
        consents=consents,
        message=str(payload.get("message") or ""),
        source=str(payload.get("source") or ""),
    )
