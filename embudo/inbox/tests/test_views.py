"""The inbox and team pages: rendering, htmx actions, permissions and query counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from embudo.accounts.models import User
from embudo.inbox.models import SavedView, Snooze
from embudo.inbox.tests.conftest import NOW, World, make_clock, make_lead
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
RESULTS = {"HX-Request": "true", "HX-Target": "inbox-results"}


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@time_machine.travel(NOW, tick=False)
def test_inbox_page_lists_the_most_urgent_first(client: Client, world: World) -> None:
    make_lead(world.rep, world.team, first_name="Carl", last_name="Cold", grade="cold")
    make_lead(world.rep, world.team, first_name="Hana", last_name="Hot", grade="hot", phone="+34 600 111 222")
    late = make_lead(world.rep, world.team, first_name="Sara", last_name="Sla", grade="warm")
    make_clock(world, late, NOW - timedelta(minutes=2))
    make_lead(world.other_rep, world.team, first_name="Nina", last_name="Notmine")
    html = login(client, world.rep).get("/inbox/").content.decode()
    assert html.index("Sara Sla") < html.index("Hana Hot") < html.index("Carl Cold")
    assert "Nina Notmine" not in html
    assert "Why this order?" in html
    assert "https://wa.me/34600111222" in html
    assert "data-countdown" in html


@time_machine.travel(NOW, tick=False)
def test_inbox_query_count_does_not_grow_with_rows(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        lead = make_lead(world.rep, world.team, score=i)
        if i % 5 == 0:
            make_clock(world, lead, NOW + timedelta(minutes=i))
    SavedView.objects.create(user=world.rep, name="Hot", query="grade=hot", created_at=NOW)
    login(client, world.rep)
    with django_assert_max_num_queries(14):
        assert client.get("/inbox/").status_code == 200
    with django_assert_max_num_queries(8):
        response = client.get("/inbox/?grade=cold", headers=RESULTS)
    assert response.status_code == 200 and "<html" not in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_snooze_through_htmx_and_back(client: Client, world: World) -> None:
    lead = make_lead(world.rep, world.team, first_name="Sam", last_name="Snooze")
    login(client, world.rep)
    form = client.get(f"/inbox/leads/{lead.pk}/snooze/", headers=HTMX)
    assert form.status_code == 200 and "Tomorrow 9:00" in form.content.decode()
    done = client.post(f"/inbox/leads/{lead.pk}/snooze/", {"pick": "tomorrow"}, headers=HTMX)
    assert done.status_code == 204 and done["HX-Trigger"] == "inbox-changed"
    assert Snooze.objects.get(lead=lead).until > NOW
    assert "Sam Snooze" not in client.get("/inbox/", headers=RESULTS).content.decode()
    assert "1 snoozed lead" in client.get("/inbox/").content.decode()
    bad = client.post(f"/inbox/leads/{lead.pk}/snooze/", {"until": "2020-01-01T10:00"}, headers=HTMX)
    assert bad.status_code == 200 and "future" in bad.content.decode()
    assert client.post(f"/inbox/leads/{lead.pk}/unsnooze/", headers=HTMX).status_code == 204
    assert not Snooze.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_disqualify_needs_a_reason(client: Client, world: World) -> None:
    lead = make_lead(world.rep, world.team)
    login(client, world.rep)
    missing = client.post(f"/inbox/leads/{lead.pk}/disqualify/", {"reason": ""}, headers=HTMX)
    assert missing.status_code == 200 and 'class="errorlist"' in missing.content.decode()
    done = client.post(f"/inbox/leads/{lead.pk}/disqualify/", {"reason": "spam"}, headers=HTMX)
    assert done.status_code == 204
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "disqualified"
    # Without JavaScript: a page, then a redirect with a message.
    other = make_lead(world.rep, world.team)
    assert "<html" in client.get(f"/inbox/leads/{other.pk}/disqualify/").content.decode()
    assert client.post(f"/inbox/leads/{other.pk}/disqualify/", {"reason": "no_need"}).status_code == 302


@time_machine.travel(NOW, tick=False)
def test_actions_on_someone_elses_lead_are_forbidden(client: Client, world: World) -> None:
    theirs = make_lead(world.other_rep, world.team)
    login(client, world.rep)
    assert client.get(f"/inbox/leads/{theirs.pk}/snooze/").status_code == 403
    assert client.post(f"/inbox/leads/{theirs.pk}/disqualify/", {"reason": "spam"}).status_code == 403
    assert Lead.objects.get(pk=theirs.pk).lifecycle_stage != "disqualified"


@time_machine.travel(NOW, tick=False)
def test_saved_views_from_the_page(client: Client, world: World) -> None:
    login(client, world.rep)
    response = client.post("/inbox/views/", {"name": "Hot", "query": "grade=hot"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?grade=hot"
    view = SavedView.objects.get(user=world.rep)
    assert "Hot" in client.get("/inbox/?grade=hot").content.decode()
    assert client.post(f"/inbox/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_team_view_and_reassign(client: Client, world: World, django_assert_max_num_queries: Any) -> None:
    lead = make_lead(world.rep, world.team, first_name="Bea", last_name="Breach", grade="hot")
    make_clock(world, lead, NOW - timedelta(minutes=5))
    for _ in range(5):
        make_lead(None, world.team)
    assert login(Client(), world.rep).get("/inbox/team/").status_code == 403
    login(client, world.manager)
    with django_assert_max_num_queries(12):
        html = client.get("/inbox/team/").content.decode()
    assert "Bea Breach" in html and "Rita Rep" in html
    with django_assert_max_num_queries(8):
        load = client.get("/inbox/team/workload/", headers=HTMX).content.decode()
    assert "Rita Rep" in load and "Open leads" in load
    bad = client.post(
        "/inbox/team/reassign/", {"lead_id": lead.pk, "user_id": world.other_rep.pk, "reason": ""}, headers=HTMX
    )
    assert bad.status_code == 422
    data = {"lead_id": lead.pk, "user_id": world.other_rep.pk, "reason": "Rita is out"}
    done = client.post("/inbox/team/reassign/", data, headers=HTMX)
    assert done.status_code == 204 and done["HX-Trigger"] == "team-changed"
    assert Lead.objects.get(pk=lead.pk).owner_id == world.other_rep.pk
