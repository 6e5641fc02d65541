"""JSON API of the inbox (mounted at "/"): ``GET /inbox``, ``POST``/``DELETE /leads/{id}/snooze``,
``GET /inbox/team``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from embudo.accounts.models import User
from embudo.core import clock
from embudo.inbox import selectors, services
from embudo.inbox.exceptions import InboxNotAllowed
from embudo.leads.schemas import ErrorOut

router = Router(tags=["inbox"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class NextTaskOut(Schema):
    id: int
    title: str
    kind: str
    due_at: datetime
    overdue: bool


class InboxItemOut(Schema):
    lead_id: int
    name: str
    email: str
    phone: str
    company: str
    grade: str
    score: int
    lifecycle_stage: str
    source: str
    sla_due_at: datetime | None
    sla_state: Literal["breached", "due_soon", "running", "none"]
    sla_policy: str
    next_task: NextTaskOut | None
    last_activity_at: datetime | None
    last_activity_type: str


class InboxOut(Schema):
    page: int
    page_size: int
    has_next: bool
    order: str
    items: list[InboxItemOut]


class SnoozeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    until: datetime


class SnoozeOut(Schema):
    lead_id: int
    until: datetime


class UnassignedOut(Schema):
    lead_id: int
    name: str
    company: str
    grade: str
    score: int
    team_id: int | None
    team_name: str
    created_at: datetime
    waiting_seconds: int


class BreachingOut(Schema):
    lead_id: int
    lead_name: str
    owner_id: int | None
    owner_name: str
    team_id: int | None
    policy_name: str
    due_at: datetime
    overdue_seconds: int
    breached: bool


class RepLoadOut(Schema):
    user_id: int
    name: str
    team_ids: list[int]
    open_leads: int
    hot_leads: int
    sla_at_risk: int
    open_tasks: int
    overdue_tasks: int


class TeamOut(Schema):
    unassigned: list[UnassignedOut]
    breaching: list[BreachingOut]
    workload: list[RepLoadOut]


ORDER = (
    "SLA overdue or due within the hour, then hot, then nearest SLA deadline, then score (high first), "
    "then least recently updated, then id"
)


@router.get("/inbox", response={200: InboxOut, **ERRORS}, summary="My inbox: open leads, most urgent first")
def inbox(
    request: HttpRequest,
    grade: str = "",
    lifecycle: str = "",
    source: str = "",
    sla: Literal["", "breaching", "due_soon", "any"] = "",
    overdue_task: bool = False,
    q: str = "",
    page: int = 1,
) -> InboxOut:
    """The caller's own open leads (not snoozed), in priority order, 50 per page."""
    user: User = request.auth  # type: ignore[attr-defined]
    filters = selectors.InboxFilters.from_query(
        {
            "grade": grade,
            "lifecycle": lifecycle,
            "source": source,
            "sla": sla,
            "q": q,
            "overdue_task": "1" if overdue_task else "",
        }  # fmt: skip
    )
    result = selectors.list_inbox(user, filters=filters, page=max(1, min(page, 10_000)), now=clock.now())
    items = [
        InboxItemOut(
            lead_id=r.lead_id, name=r.name, email=r.email, phone=r.phone, company=r.company, grade=r.grade,
            score=r.score, lifecycle_stage=r.lifecycle_stage, source=r.source, sla_due_at=r.sla_due_at,
            sla_state=r.sla_state, sla_policy=r.sla_policy,  # type: ignore[arg-type]
            next_task=NextTaskOut(id=r.next_task.pk, title=r.next_task.title, kind=r.next_task.kind,
                                  due_at=r.next_task.due_at, overdue=r.next_task_overdue) if r.next_task else None,
            last_activity_at=r.last_activity_at, last_activity_type=r.last_activity_type,
        )
        for r in result.rows
    ]  # fmt: skip
    return InboxOut(page=result.page, page_size=selectors.PAGE_SIZE, has_next=result.has_next, order=ORDER,
                    items=items)  # fmt: skip


@router.post("/leads/{lead_id}/snooze", response={200: SnoozeOut, **ERRORS}, summary="Snooze a lead")
def snooze(request: HttpRequest, lead_id: int, payload: SnoozeIn) -> SnoozeOut:
    """Hide one of your leads from your inbox until ``until`` (ISO 8601 with a zone)."""
    obj = services.snooze(actor=request.auth, lead_id=lead_id, until=payload.until)  # type: ignore[attr-defined]
    return SnoozeOut(lead_id=obj.lead_id, until=obj.until)


@router.delete("/leads/{lead_id}/snooze", response={204: None, **ERRORS}, summary="Un-snooze a lead")
def unsnooze(request: HttpRequest, lead_id: int) -> Status[None]:
    services.unsnooze(actor=request.auth, lead_id=lead_id)  # type: ignore[attr-defined]
    return Status(204, None)


@router.get("/inbox/team", response={200: TeamOut, **ERRORS}, summary="Team view (managers and admins)")
def team(request: HttpRequest) -> TeamOut:
    """Unassigned leads of your teams (oldest first), SLAs breached or due within the hour, workload per rep."""
    user: User = request.auth  # type: ignore[attr-defined]
    if not selectors.can_see_team_view(user):
        raise InboxNotAllowed("Only managers and admins see the team view.")
    now = clock.now()
    view = selectors.team_view(user, now=now)
    return TeamOut(
        unassigned=[UnassignedOut(**vars(u), waiting_seconds=int((now - u.created_at).total_seconds()))
                    for u in view.unassigned],
        breaching=[BreachingOut(lead_id=c.lead_id, lead_name=c.lead_name, owner_id=c.owner_id,
                                owner_name=c.owner_name, team_id=c.team_id, policy_name=c.policy_name,
                                due_at=c.due_at, overdue_seconds=max(0, int((now - c.due_at).total_seconds())),
                                breached=c.breached) for c in view.breaching],
        workload=[RepLoadOut(user_id=r.user_id, name=r.name, team_ids=r.team_ids, open_leads=r.open_leads,
                             hot_leads=r.hot_leads, sla_at_risk=r.at_risk, open_tasks=r.open_tasks,
                             overdue_tasks=r.overdue_tasks) for r in view.workload],
    )  # fmt: skip
