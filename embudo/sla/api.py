"""The SLA API: speed-to-lead percentiles, clocks, and policies.

Mounted at "/": ``GET /speed-to-lead``, ``GET /sla/clocks``, ``/sla/policies``. Speed-to-lead and
policies are for managers (their teams), marketing and admins; reps see only their own clocks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from embudo.accounts.models import User
from embudo.core import clock
from embudo.leads.schemas import ErrorOut
from embudo.sla import exceptions, selectors, services
from embudo.sla.models import ClockStatus, SlaPolicy

router = Router(tags=["sla"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class SpanOut(Schema):
    count: int
    p50_seconds: float | None
    p95_seconds: float | None


class SpeedRowOut(Schema):
    key: str
    label: str
    leads: int
    assigned: SpanOut
    notified: SpanOut
    first_touch: SpanOut


class SpeedOut(Schema):
    since: datetime
    until: datetime
    group_by: str | None
    rows: list[SpeedRowOut]


class ClockOut(Schema):
    id: int
    lead_id: int
    lead_name: str
    policy_id: int
    policy_name: str
    owner_id: int | None
    team_id: int | None
    trigger: str
    status: str
    started_at: datetime
    due_at: datetime
    seconds_left: int
    reminded_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    escalations: int


class PolicyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str
    trigger: Literal["assigned", "hot", "mql", "sql"]
    target_minutes: int
    team_id: int | None = None
    active: bool = True
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    business_hours: bool = True
    remind_before_minutes: int = 0
    escalate: bool = True
    reassign: bool = False


class PolicyOut(Schema):
    id: int
    name: str
    trigger: str
    target_minutes: int
    team_id: int | None
    active: bool
    conditions: list[dict[str, Any]]
    business_hours: bool
    remind_before_minutes: int
    escalate: bool
    reassign: bool


def _viewer(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    if not selectors.can_view_dashboard(user):
        raise exceptions.NotAllowed("Only managers, marketing and admins see speed-to-lead and SLA policies.")
    return user


def _team_scope(user: User, team: int | None) -> list[int] | None:
    allowed = selectors.scoped_team_ids(user)
    if team is None:
        return allowed
    if allowed is not None and team not in allowed:
        raise exceptions.NotAllowed("You can only see your own teams.")
    return [team]


@router.get("/speed-to-lead", response={200: SpeedOut, **ERRORS}, summary="Speed-to-lead percentiles")
def speed_to_lead(
    request: HttpRequest,
    since: datetime | None = None,
    until: datetime | None = None,
    team: int | None = None,
    source: str = "",
    group_by: Literal["team", "source", "rep"] | None = None,
) -> SpeedOut:
    """p50/p95 seconds from received to assigned, to owner notified and to first touch, for leads received
    in [since, until) (default: the last 30 days). The first row (key "all") is the total."""
    user = _viewer(request)
    until = until or clock.now()
    since = since or until - timedelta(days=30)
    rows = selectors.speed_to_lead(since=since, until=until, group_by=group_by,
                                   team_ids=_team_scope(user, team), source=source)  # fmt: skip
    return SpeedOut(since=since, until=until, group_by=group_by, rows=[
        SpeedRowOut(key=r.key, label=r.label, leads=r.leads, **{k: SpanOut(**vars(v)) for k, v in r.spans.items()})
        for r in rows
    ])  # fmt: skip


@router.get("/sla/clocks", response={200: list[ClockOut], **ERRORS}, summary="SLA clocks")
def list_clocks(
    request: HttpRequest,
    status: Literal["open", "met", "breached", "cancelled"] = "open",
    team: int | None = None,
    limit: int = 50,
) -> list[ClockOut]:
    """Open clocks by deadline (most urgent first), or closed ones newest first. Reps see their own."""
    user: User = request.auth  # type: ignore[attr-defined]
    now = clock.now()
    clocks = selectors.list_clocks_visible_to(user, status=status, team_id=team, limit=max(1, min(limit, 500)))
    return [
        ClockOut(id=c.pk, lead_id=c.lead_id, lead_name=str(c.lead), policy_id=c.policy_id, policy_name=c.policy.name,
                 owner_id=c.owner_id, team_id=c.team_id, trigger=c.trigger, status=c.status, started_at=c.started_at,
                 due_at=c.due_at, seconds_left=int((c.due_at - now).total_seconds()) if c.status == ClockStatus.OPEN
                 else 0, reminded_at=c.reminded_at, met_at=c.met_at, breached_at=c.breached_at,
                 escalations=c.escalations)
        for c in clocks
    ]  # fmt: skip


@router.get("/sla/policies", response={200: list[PolicyOut], **ERRORS}, summary="SLA policies")
def list_policies(request: HttpRequest) -> list[SlaPolicy]:
    _viewer(request)
    return list(selectors.list_policies())


@router.post("/sla/policies", response={201: PolicyOut, **ERRORS}, summary="Create an SLA policy")
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status:
    return Status(201, services.save_policy(actor=request.auth, data=payload.dict()))  # type: ignore[attr-defined]


@router.put("/sla/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS}, summary="Replace an SLA policy")
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyIn) -> SlaPolicy:
    return services.save_policy(actor=request.auth, data=payload.dict(), policy_id=policy_id)  # type: ignore[attr-defined]


@router.delete("/sla/policies/{int:policy_id}", response={204: None, **ERRORS}, summary="Delete an SLA policy")
def delete_policy(request: HttpRequest, policy_id: int) -> Status:
    services.delete_policy(actor=request.auth, policy_id=policy_id)  # type: ignore[attr-defined]
    return Status(204, None)
