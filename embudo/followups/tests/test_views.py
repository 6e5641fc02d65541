"""My day, the lead panel, htmx actions and the rules pages (with query-count bounds)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from embudo.accounts.models import User
from embudo.followups import services
from embudo.followups.models import Task, TaskRule
from embudo.followups.tests.conftest import MONDAY_10, World
from embudo.leads.tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_monday")]
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def _monday() -> Any:
    with time_machine.travel(MONDAY_10, tick=False):
        yield


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add(world: World, hours: float, title: str, lead: Any = None) -> Task:
    return services.create_task(actor=world.rep, lead_id=(lead or world.lead).pk, kind="call", title=title,
                                due_at=MONDAY_10 + timedelta(hours=hours))  # fmt: skip


def test_my_day_shows_the_sections_with_a_bounded_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        lead = LeadFactory(owner=world.rep, team=world.team)
        add(world, -5 - i, f"Late {i}", lead)
        add(world, 2 + i, f"Soon {i}", lead)
        add(world, 30 + i, f"Tomorrow {i}", lead)
    services.complete_task(actor=world.rep, task_id=add(world, 1, "Finished").pk)
    client = login(world.rep)
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/")
    html = response.content.decode()
    assert response.status_code == 200
    for title in ("Late 0", "Soon 2", "Tomorrow 1", "Finished", "Overdue", "Done today", "Europe/Madrid"):
        assert title in html
    assert html.count("task-row--overdue") == 3
    # Twice the tasks, the same number of queries.
    for i in range(6):
        add(world, -1 - i, f"More late {i}", LeadFactory(owner=world.rep, team=world.team))
    with django_assert_max_num_queries(12):
        assert client.get("/tasks/").status_code == 200


def test_complete_and_snooze_from_my_day_answer_with_the_fragment(world: World) -> None:
    task = add(world, -1, "Call Lola")
    client = login(world.rep)
    response = client.post(f"/tasks/{task.pk}/complete/", {"from": "day"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "tasks-changed"
    assert 'id="my-day-body"' in response.content.decode() and "Task done." in response.content.decode()
    assert Task.objects.get(pk=task.pk).completed_at == MONDAY_10
    response = client.post(f"/tasks/{task.pk}/reopen/", {"from": "day"}, **HTMX)
    assert Task.objects.get(pk=task.pk).completed_at is None
    client.post(f"/tasks/{task.pk}/snooze/", {"from": "day", "option": "tomorrow"}, **HTMX)
    assert Task.objects.get(pk=task.pk).due_at.isoformat() == "2026-11-24T08:00:00+00:00"
    client.post(f"/tasks/{task.pk}/snooze/", {"from": "day", "option": "pick", "due_date": "2026-12-01",
                                              "due_time": "16:30"}, **HTMX)  # fmt: skip
    assert Task.objects.get(pk=task.pk).due_at.isoformat() == "2026-12-01T15:30:00+00:00"
    # Without JavaScript: a redirect back.
    response = client.post(f"/tasks/{task.pk}/complete/", {"from": "day"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"


def test_actions_on_hidden_tasks_are_404(world: World) -> None:
    task = services.create_task(actor=world.other_rep, lead_id=world.other_lead.pk, kind="call", title="x",
                                due_at=MONDAY_10)  # fmt: skip
    client = login(world.rep)
    assert client.post(f"/tasks/{task.pk}/complete/", {"from": "day"}, **HTMX).status_code == 404
    assert client.get(f"/tasks/leads/{world.other_lead.pk}/panel/").status_code == 404


def test_lead_panel_adds_a_task_with_a_quick_pick(world: World, django_assert_max_num_queries: Any) -> None:
    client = login(world.rep)
    add(world, 3, "Existing")
    with django_assert_max_num_queries(10):
        response = client.get(f"/tasks/leads/{world.lead.pk}/panel/", **HTMX)
    assert "Existing" in response.content.decode() and 'id="tasks-card"' in response.content.decode()
    data = {"kind": "email", "title": "Send the quote", "when": "in_3_days", "remind_minutes_before": 60,
            "notes": "With the discount"}  # fmt: skip
    response = client.post(f"/tasks/leads/{world.lead.pk}/panel/", data, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "tasks-changed"
    assert "Send the quote" in response.content.decode() and "Task added." in response.content.decode()
    task = Task.objects.get(title="Send the quote")
    assert task.due_at.isoformat() == "2026-11-26T08:00:00+00:00" and task.notes == "With the discount"
    assert task.remind_at == task.due_at - timedelta(hours=1)


def test_lead_panel_shows_field_errors(world: World) -> None:
    response = login(world.rep).post(f"/tasks/leads/{world.lead.pk}/panel/",
                                     {"kind": "call", "title": "", "when": "pick", "remind_minutes_before": 0},
                                     **HTMX)  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "Say what to do." in html and "Pick the day." in html
    assert not Task.objects.exists()


def test_lead_panel_pick_a_date_and_past_warning(world: World) -> None:
    response = login(world.rep).post(f"/tasks/leads/{world.lead.pk}/panel/",
                                     {"kind": "call", "title": "Logged call", "when": "pick", "due_date": "2026-11-20",
                                      "due_time": "12:00", "remind_minutes_before": 0}, **HTMX)  # fmt: skip
    assert "no reminder" in response.content.decode()
    task = Task.objects.get()
    assert task.due_at.isoformat() == "2026-11-20T11:00:00+00:00" and task.remind_at is None


def test_managers_switch_to_the_team_view(world: World, django_assert_max_num_queries: Any) -> None:
    add(world, -2, "Rita's late call")
    client = login(world.manager)
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/?view=team")
    html = response.content.decode()
    assert "Team workload" in html and "Rita Rep" in html
    response = client.get(f"/tasks/?assignee={world.rep.pk}")
    assert "Rita&#x27;s late call" in response.content.decode() or "Rita's late call" in response.content.decode()
    assert client.get(f"/tasks/?assignee={world.outsider.pk}").status_code == 404
    assert login(world.rep).get(f"/tasks/?assignee={world.other_rep.pk}").status_code == 200  # reps: own day only
    assert "Team workload" not in login(world.rep).get("/tasks/?view=team").content.decode()


def test_rules_pages_for_managers(world: World) -> None:
    assert login(world.rep).get("/tasks/rules/").status_code == 403
    client = login(world.manager)
    assert client.get("/tasks/rules/").status_code == 200
    response = client.post("/tasks/rules/new/", {"title": "", "kind": "call", "stage_key": "proposal_sent",
                                                 "delay_days": 3, "delay_hours": 0, "team_id": ""})  # fmt: skip
    assert response.status_code == 422
    response = client.post("/tasks/rules/new/", {"title": "Call about the proposal", "kind": "call",
                                                 "stage_key": "proposal_sent", "delay_days": 3, "delay_hours": 0,
                                                 "team_id": world.team.pk, "active": "on"})  # fmt: skip
    assert response.status_code == 302
    rule = TaskRule.objects.get()
    assert (rule.team_id, rule.delay_days, rule.active) == (world.team.pk, 3, True)
    assert "Call about the proposal" in client.get("/tasks/rules/").content.decode()
    edit = {"title": "Call, 2 days later", "kind": "call", "stage_key": "proposal_sent", "delay_days": 2,
            "delay_hours": 0, "team_id": world.team.pk, "active": "on"}  # fmt: skip
    client.post(f"/tasks/rules/{rule.pk}/", edit)
    rule.refresh_from_db()
    assert (rule.title, rule.delay_days) == ("Call, 2 days later", 2)
    client.post(f"/tasks/rules/{rule.pk}/active/", {"active": "0"})
    rule.refresh_from_db()
    assert rule.active is False
    # A manager cannot edit an every-team rule.
    every = TaskRule.objects.create(stage_key="won", kind="email", title="Thank you", created_at=MONDAY_10,
                                    updated_at=MONDAY_10)  # fmt: skip
    assert client.get(f"/tasks/rules/{every.pk}/").status_code == 403


def test_timeline_partials_render(world: World) -> None:
    from embudo.followups import views  # noqa: F401 - urls loaded

    task = add(world, 2, "Timeline call")
    services.complete_task(actor=world.rep, task_id=task.pk)
    html = login(world.rep).get(f"/leads/{world.lead.pk}/").content.decode()
    assert "Timeline call" in html and "Task done" in html


def test_long_sections_are_capped_and_expand_one_at_a_time(world: World) -> None:
    Task.objects.bulk_create(
        Task(lead=world.lead, assignee=world.rep, kind="call", title=f"Old {i}",
             due_at=MONDAY_10 - timedelta(hours=i + 1), created_at=MONDAY_10, updated_at=MONDAY_10)
        for i in range(30)
    )  # fmt: skip
    client = login(world.rep)
    html = client.get("/tasks/").content.decode()
    assert html.count("task-row--overdue") == 25 and "And 5 more tasks." in html and "?all=overdue" in html
    assert client.get("/tasks/?all=overdue").content.decode().count("task-row--overdue") == 30


def test_pages_render_in_spanish(world: World) -> None:
    world.rep.language = "es"
    world.rep.save()
    add(world, -3, "Llamar")
    client = login(world.rep)
    assert client.get("/tasks/").status_code == 200
    assert client.get(f"/tasks/leads/{world.lead.pk}/panel/").status_code == 200
    world.manager.language = "es"
    world.manager.save()
    assert login(world.manager).get("/tasks/rules/").status_code == 200
