"""JSON API of the followups context (mounted at "/" in config/api.py).

``GET /tasks`` (mine by default; ``due``, ``assignee``, ``lead`` filters), ``GET|POST /leads/{id}/tasks``,
``PATCH|DELETE /tasks/{id}``, ``POST /tasks/{id}/complete``, ``POST /tasks/{id}/reopen``. A task or lead the
caller cannot see is a 404; invalid fields a 422 with field messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict

from embudo.accounts.models import User
from embudo.core import clock
from embudo.followups import exceptions, selectors, services
from embudo.followups.models import Task
from embudo.leads import selectors as leads_selectors
from embudo.leads.schemas import ErrorOut

router = Router(tags=["followups"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
Kind = Literal["call", "email", "meeting", "whatsapp", "follow_up", "other"]


class TaskOut(Schema):
    id: int
    lead_id: int
    lead_name: str
    assignee_id: int
    kind: str
    title: str
    notes: str
    due_at: datetime
    remind_at: datetime | None
    reminded_at: datetime | None
    completed_at: datetime | None
    completed_by_id: int | None
    created_by_id: int | None
    rule_id: int | None
    overdue: bool
    created_at: datetime


class TaskIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "call"
    title: str = ""
    due_at: datetime | None = None
    assignee_id: int | None = None
    notes: str = ""
    remind_minutes_before: int = 0


class TaskPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    title: str | None = None
    due_at: datetime | None = None
    assignee_id: int | None = None
    notes: str | None = None
    remind_minutes_before: int | None = None


class TaskFilter(Schema):
    due: Literal["overdue", "today", "upcoming"] | None = None
    assignee: int | None = None
    lead: int | None = None
    done: bool = False


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _out(task: Task, now: datetime) -> dict[str, Any]:
    return {
        "id": task.pk, "lead_id": task.lead_id, "lead_name": str(task.lead), "assignee_id": task.assignee_id,
        "kind": task.kind, "title": task.title, "notes": task.notes, "due_at": task.due_at,
        "remind_at": task.remind_at, "reminded_at": task.reminded_at, "completed_at": task.completed_at,
        "completed_by_id": task.completed_by_id, "created_by_id": task.created_by_id, "rule_id": task.rule_id,
        "overdue": task.completed_at is None and task.due_at < now, "created_at": task.created_at,
    }  # fmt: skip


def _due_required(due_at: datetime | None) -> datetime:
    if due_at is None:
        raise exceptions.InvalidTask(
            _("Some fields are not valid."), fields={"due_at": [_("Give a due date and time.")]}
        )
    return due_at


def _fresh(user: User, task_id: int) -> dict[str, Any]:
    task = selectors.get_task_visible_to(user, task_id)
    if task is None:
        raise exceptions.TaskNotFound(_("Task not found."))
    return _out(task, clock.now())


@router.get("/tasks", response={200: list[TaskOut], **ERRORS}, summary="Tasks (mine by default)")
def list_tasks(request: HttpRequest, filters: Query[TaskFilter]) -> list[dict[str, Any]]:
    user, now = _user(request), clock.now()
    tasks = selectors.list_tasks_visible_to(
        user, now=now, tz=selectors.time_zone_of(user), due=filters.due or "", assignee_id=filters.assignee,
        lead_id=filters.lead, include_done=filters.done,
    )  # fmt: skip
    return [_out(t, now) for t in tasks]


@router.get("/leads/{int:lead_id}/tasks", response={200: list[TaskOut], **ERRORS}, summary="A lead's tasks")
def lead_tasks(request: HttpRequest, lead_id: int) -> list[dict[str, Any]]:
    user, now = _user(request), clock.now()
    if leads_selectors.get_lead_visible_to(user, lead_id) is None:
        raise exceptions.LeadNotFound(_("Lead not found."))
    tasks = selectors.list_tasks_visible_to(user, now=now, tz=selectors.time_zone_of(user), lead_id=lead_id,
                                            include_done=True)  # fmt: skip
    return [_out(t, now) for t in tasks]


@router.post("/leads/{int:lead_id}/tasks", response={201: TaskOut, **ERRORS}, summary="Add a task to a lead")
def create_task(request: HttpRequest, lead_id: int, payload: TaskIn) -> Status:
    user = _user(request)
    task = services.create_task(
        actor=user, lead_id=lead_id, kind=payload.kind, title=payload.title, due_at=_due_required(payload.due_at),
        assignee_id=payload.assignee_id, notes=payload.notes, remind_minutes_before=payload.remind_minutes_before,
    )  # fmt: skip
    return Status(201, _fresh(user, task.pk))


@router.patch("/tasks/{int:task_id}", response={200: TaskOut, **ERRORS}, summary="Edit, reschedule or reassign")
def patch_task(request: HttpRequest, task_id: int, payload: TaskPatch) -> dict[str, Any]:
    user = _user(request)
    changes = payload.model_dump(exclude_unset=True)
    for name in ("kind", "title", "due_at", "assignee_id", "remind_minutes_before"):
        if name in changes and changes[name] is None:
            raise exceptions.InvalidTask(
                _("Some fields are not valid."), fields={name: [_("This field cannot be null.")]}
            )
    services.update_task(actor=user, task_id=task_id, **changes)
    return _fresh(user, task_id)


@router.post("/tasks/{int:task_id}/complete", response={200: TaskOut, **ERRORS}, summary="Mark a task done")
def complete_task(request: HttpRequest, task_id: int) -> dict[str, Any]:
    user = _user(request)
    services.complete_task(actor=user, task_id=task_id)
    return _fresh(user, task_id)


@router.post("/tasks/{int:task_id}/reopen", response={200: TaskOut, **ERRORS}, summary="Reopen a done task")
def reopen_task(request: HttpRequest, task_id: int) -> dict[str, Any]:
    user = _user(request)
    services.reopen_task(actor=user, task_id=task_id)
    return _fresh(user, task_id)


@router.delete("/tasks/{int:task_id}", response={204: None, **ERRORS}, summary="Delete a task")
def delete_task(request: HttpRequest, task_id: int) -> Status:
    services.delete_task(actor=_user(request), task_id=task_id)
    return Status(204, None)
