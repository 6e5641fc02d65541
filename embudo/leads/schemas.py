from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

LifecycleStage = Literal["subscriber", "lead", "mql", "sql", "opportunity", "customer", "pql", "disqualified"]
Status = Literal["new", "working", "nurturing", "qualified", "disqualified", "converted"]


class LeadFieldsIn(Schema):
    """Writable lead fields. Unknown fields are rejected (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254, description="Validated and lower-cased.")
    phone: str | None = Field(None, max_length=32)
    job_title: str | None = Field(None, max_length=150)
    company_name: str | None = Field(None, max_length=200)
    street_address: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2, description="ISO 3166-1 alpha-2, e.g. ES")
    language: Literal["en", "es", ""] | None = None
    source: str | None = Field(None, max_length=64)
    lifecycle_stage: LifecycleStage | None = None
    status: Status | None = None
    owner_id: int | None = None
    team_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class LeadIn(LeadFieldsIn):
    pass


class LeadPatch(LeadFieldsIn):
    pass


class UserRef(Schema):
    id: int
    email: str
    full_name: str


class CompanyOut(Schema):
    id: int
    name: str
    domain: str
    industry: str
    size: str
    country: str
    # Every lead of the company, recounted by the worker a few seconds after a change (not per visibility).
    lead_count: int
    last_lead_at: datetime | None


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    company_name: str
    company: CompanyOut | None
    street_address: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    language: str
    source: str
    owner: UserRef | None
    team_id: int | None
    lifecycle_stage: str
    status: str
    score: int
    grade: str
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TimelineEventOut(Schema):
    id: int
    type: str
    occurred_at: datetime
    actor_id: int | None
    payload: dict[str, Any]


class LeadDetailOut(LeadOut):
    timeline: list[TimelineEventOut]


class LeadPageOut(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]
