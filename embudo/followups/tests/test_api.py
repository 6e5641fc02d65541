"""The tasks API: create, list with filters, patch, complete, reopen, delete; 422 field errors; 404 when hidden."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.followups.models import Task
from embudo.followups.tests.conftest import MONDAY_10, World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_monday")]


@pytest.fixture
def _monday() -> Any:
    with time_machine.travel(MONDAY_10, tick=False):
        yield


def api(user: User) -> Client:
    _, token = account_services.create_api_token(user_email=user.email, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_create_list_complete_reopen_delete(world: World) -> None:
    rep = api(world.rep)
    due = (MONDAY_10 + timedelta(hours=2)).isoformat()
    created = post(rep, f"/api/v1/leads/{world.lead.pk}/tasks",
                   {"kind": "email", "title": "Send pricing", "due_at": due, "remind_minutes_before": 15})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["assignee_id"], body["kind"], body["lead_name"], body["overdue"]) == (world.rep.pk, "email",
                                                                                       "Lola Lead", False)  # fmt: skip
    task_id = body["id"]
    post(rep, f"/api/v1/leads/{world.lead.pk}/tasks",
         {"title": "Overdue call", "due_at": (MONDAY_10 - timedelta(days=1)).isoformat()})  # fmt: skip

    assert [t["title"] for t in rep.get("/api/v1/tasks").json()] == ["Overdue call", "Send pricing"]
    assert [t["title"] for t in rep.get("/api/v1/tasks", {"due": "overdue"}).json()] == ["Overdue call"]
    assert [t["title"] for t in rep.get("/api/v1/tasks", {"due": "today"}).json()] == ["Send pricing"]
    assert rep.get("/api/v1/tasks", {"due": "upcoming"}).json() == []
    assert len(rep.get("/api/v1/tasks", {"lead": world.lead.pk}).json()) == 2

    done = post(rep, f"/api/v1/tasks/{task_id}/complete")
    assert done.status_code == 200 and done.json()["completed_at"] is not None
    assert [t["title"] for t in rep.get(f"/api/v1/leads/{world.lead.pk}/tasks").json()] == ["Overdue call",
                                                                                            "Send pricing"]  # fmt: skip
    assert post(rep, f"/api/v1/tasks/{task_id}/reopen").json()["completed_at"] is None
    assert rep.delete(f"/api/v1/tasks/{task_id}").status_code == 204
    assert not Task.objects.filter(pk=task_id).exists()


def test_patch_reschedules_and_reassigns(world: World) -> None:
    rep = api(world.rep)
    task_id = post(rep, f"/api/v1/leads/{world.lead.pk}/tasks",
                   {"title": "Call", "due_at": (MONDAY_10 + timedelta(hours=1)).isoformat()}).json()["id"]  # fmt: skip
    new_due = (MONDAY_10 + timedelta(days=2)).isoformat()
    patched = rep.patch(f"/api/v1/tasks/{task_id}", json.dumps({"due_at": new_due, "assignee_id": world.other_rep.pk}),
                        content_type="application/json")  # fmt: skip
    assert patched.status_code == 200, patched.content
    assert patched.json()["assignee_id"] == world.other_rep.pk and patched.json()["remind_at"] == new_due.replace(
        "+00:00", "Z"
    )
    bad = rep.patch(f"/api/v1/tasks/{task_id}", json.dumps({"title": ""}), content_type="application/json")
    assert bad.status_code == 422 and "title" in bad.json()["fields"]
    nulled = rep.patch(f"/api/v1/tasks/{task_id}", json.dumps({"due_at": None}), content_type="application/json")
    assert nulled.status_code == 422 and "due_at" in nulled.json()["fields"]


def test_validation_errors_are_422_with_fields(world: World) -> None:
    response = post(api(world.rep), f"/api/v1/leads/{world.lead.pk}/tasks", {"title": " "})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error" and "due_at" in response.json()["fields"]
    response = post(api(world.rep), f"/api/v1/leads/{world.lead.pk}/tasks",
                    {"title": "x", "due_at": MONDAY_10.isoformat(), "kind": "fax"})  # fmt: skip
    assert response.status_code == 422 and "kind" in response.json()["fields"]
    response = post(api(world.rep), f"/api/v1/leads/{world.lead.pk}/tasks",
                    {"title": "x", "due_at": MONDAY_10.isoformat(), "assignee_id": world.outsider.pk})  # fmt: skip
    assert response.status_code == 422 and "assignee_id" in response.json()["fields"]


def test_hidden_leads_and_tasks_are_404(world: World) -> None:
    other = api(world.other_rep)
    task_id = post(other, f"/api/v1/leads/{world.other_lead.pk}/tasks",
                   {"title": "Mine", "due_at": MONDAY_10.isoformat()}).json()["id"]  # fmt: skip
    rep = api(world.rep)
    assert post(rep, f"/api/v1/leads/{world.other_lead.pk}/tasks", {"title": "x", "due_at": MONDAY_10.isoformat()}
                ).status_code == 404  # fmt: skip
    assert rep.get(f"/api/v1/leads/{world.other_lead.pk}/tasks").status_code == 404
    assert post(rep, f"/api/v1/tasks/{task_id}/complete").status_code == 404
    assert rep.delete(f"/api/v1/tasks/{task_id}").status_code == 404
    assert rep.patch(f"/api/v1/tasks/{task_id}", "{}", content_type="application/json").status_code == 404
    # A manager sees the team's tasks and can list a rep's.
    manager = api(world.manager)
    assert [t["id"] for t in manager.get("/api/v1/tasks", {"assignee": world.other_rep.pk}).json()] == [task_id]
    assert rep.get("/api/v1/tasks", {"assignee": world.other_rep.pk}).json() == []
