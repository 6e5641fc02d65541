from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

# An Idempotency-Key header: at most this many characters, on POST /leads and POST /leads/batch alike.
IDEMPOTENCY_KEY_MAX_LENGTH = 200
BATCH_MAX_ITEMS = 1000
# The largest body POST /leads/batch accepts: BATCH_MAX_ITEMS items of up to ITEM_MAX_BYTES each (20 MB). Every text
# field of CaptureIn at its maximum length is about 12,000 characters of JSON and a consent's text 5,000 more: 20 KB
# an item holds both in Spanish (some accented letters, 2 bytes in UTF-8). A larger body is a 413 (split the batch).
# Any other request keeps Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default, ample for one lead).
ITEM_MAX_BYTES = 20_000
BATCH_MAX_BODY_BYTES = BATCH_MAX_ITEMS * ITEM_MAX_BYTES


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=40, description="e.g. marketing_email, whatsapp, processing")
    granted: bool = True
    text: str = Field("", max_length=5000, description="The exact text the person agreed to.")
    text_version: str = Field("", max_length=40)
    language: str = Field("", max_length=5)
    lawful_basis: Literal["consent", "contract", "legitimate_interest", "soft_opt_in_customer"] = "consent"


class CaptureIn(Schema):
    """A lead as it arrives: contact fields, attribution, consent. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40, description="Any format; stored as E.164.")
    job_title: str | None = Field(None, max_length=150)
    company_name: str | None = Field(None, max_length=200)
    company_domain: str | None = Field(None, max_length=253, description="Website or domain of the company.")
    street_address: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=60, description="ISO code or name, in English or Spanish.")
    language: str | None = Field(None, max_length=20)
    source: str | None = Field(None, max_length=64)
    message: str | None = Field(None, max_length=5000, description="Shown on the lead's timeline.")
    utm_source: str | None = Field(None, max_length=200)
    utm_medium: str | None = Field(None, max_length=200)
    utm_campaign: str | None = Field(None, max_length=200)
    utm_term: str | None = Field(None, max_length=200)
    utm_content: str | None = Field(None, max_length=200)
    referrer: str | None = Field(None, max_length=2000)
    landing_page: str | None = Field(None, max_length=2000)
    consents: list[ConsentIn] | None = Field(None, max_length=20)
    custom_fields: dict[str, Any] | None = None
    team_id: int | None = None
    owner_id: int | None = None


class OwnerOut(Schema):
    id: int
    email: str
    full_name: str


class CaptureOut(Schema):
    id: int | None = Field(description="The lead's id (null when rejected or not processed yet).")
    created: bool = Field(description="True when a new lead was created, false when merged into an existing one.")
    score: int | None
    grade: str | None
    owner: OwnerOut | None
    submission_id: int
    status: str = Field(description="processed, rejected, failed (will be retried) or pending.")
    fields: dict[str, list[str]] = Field(default_factory=dict, description="Per-field errors when rejected.")


class BatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)


class BatchItemOut(CaptureOut):
    index: int
    status_code: int


class BatchOut(Schema):
    items: list[BatchItemOut]
    created: int
    merged: int
    rejected: int
    failed: int
