from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client

from embudo.accounts.models import User
from embudo.leads.models import Lead
from embudo.pipeline import services
from embudo.pipeline.models import Deal
from embudo.pipeline.tests.conftest import World, stage


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _deals(world: World, owner: User, n: int, key: str = "new", amount: str = "100", **lead: Any) -> list[Lead]:
    leads = [world.lead(owner=owner, **lead) for _ in range(n)]
    for item in leads:
        services.move_deal(actor=world.admin, lead_id=item.pk, stage_id=stage(key).pk, amount=amount,
                           lost_reason="x" if key == "lost" else "")  # fmt: skip
    return leads


def test_board_shows_columns_counts_totals_and_cards(world: World, django_assert_max_num_queries: Any) -> None:
    _deals(world, world.rep, 3, "new", "100")
    _deals(world, world.rep, 2, "interested", "1000.50")
    _deals(world, world.other_rep, 2, "interested", team=world.other_team)
    client = _client(world.rep)
    with django_assert_max_num_queries(12):
        response = client.get("/pipeline/")
    assert response.status_code == 200
    board = response.context["board"]
    counts = {c.stage.key: (c.count, c.total) for c in board.columns}
    assert counts["new"] == (3, Decimal("300"))
    assert counts["interested"] == (2, Decimal("2001.00"))
    assert board.count == 5
    html = response.content.decode()
    assert "Move to…" in html and 'draggable="true"' in html and 'id="lost-dialog"' in html


def test_board_query_count_does_not_grow_with_deals(world: World, django_assert_num_queries: Any) -> None:
    _deals(world, world.rep, 2, "new")
    client = _client(world.rep)
    client.get("/pipeline/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/pipeline/")
    _deals(world, world.rep, 8, "contacted")
    _deals(world, world.rep, 3, "won")
    with CaptureQueriesContext(connection) as many:
        client.get("/pipeline/")
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as listed_few:
        client.get("/pipeline/?view=list")
    _deals(world, world.rep, 5, "lost")
    with CaptureQueriesContext(connection) as listed_many:
        client.get("/pipeline/?view=list")
    assert len(listed_many) == len(listed_few) <= 12


def test_board_columns_show_fifty_cards_and_load_more(world: World) -> None:
    _deals(world, world.rep, 53, "new")
    client = _client(world.rep)
    response = client.get("/pipeline/")
    column = response.context["board"].columns[0]
    assert column.count == 53 and len(column.cards) == 50 and column.next_cursor
    more = client.get(f"/pipeline/columns/{column.stage.pk}/?owner=me&cursor={column.next_cursor}",
                      HTTP_HX_REQUEST="true")  # fmt: skip
    assert more.status_code == 200
    assert more.content.decode().count('class="deal-card"') == 3 and more.context["next_cursor"] is None
    shown = {c.deal.lead_id for c in column.cards}
    assert len(shown) == 50 and all(f'id="deal-{i}"' not in more.content.decode() for i in shown)


def test_filters_and_role_defaults(world: World) -> None:
    hot = _deals(world, world.rep, 1, "new", "50000", grade="hot", first_name="Zoe")
    _deals(world, world.rep, 2, "new", "10")
    _deals(world, world.other_rep, 1, "new", "10", team=world.other_team)
    teammate = User.objects.create_user("mate@example.com", "x", role="sales_rep")
    teammate.teams.set([world.team])
    _deals(world, teammate, 1, "contacted", "70")
    rep = _client(world.rep)
    assert rep.get("/pipeline/").context["board"].count == 3  # reps: their own deals
    assert rep.get("/pipeline/?grade=hot").context["board"].count == 1
    assert rep.get("/pipeline/?min=1000").context["board"].count == 1
    assert rep.get("/pipeline/?max=20").context["board"].count == 2
    assert rep.get("/pipeline/?q=zoe").context["board"].columns[0].cards[0].deal.lead_id == hot[0].pk
    manager = _client(world.manager)
    assert manager.get("/pipeline/").context["board"].count == 4  # managers: their team's deals
    assert manager.get(f"/pipeline/?owner={teammate.pk}").context["board"].count == 1
    assert manager.get("/pipeline/?owner=me").context["board"].count == 0
    admin = _client(world.admin)
    assert admin.get("/pipeline/?owner=all").context["board"].count == 5
    assert admin.get(f"/pipeline/?team={world.other_team.pk}").context["board"].count == 1


def test_list_view_sorts(world: World) -> None:
    _deals(world, world.rep, 1, "new", "10")
    _deals(world, world.rep, 1, "interested", "900")
    _deals(world, world.rep, 1, "contacted", "50")
    client = _client(world.rep)
    response = client.get("/pipeline/?view=list&sort=-amount")
    amounts = [c.deal.amount for c in response.context["page"].items]
    assert amounts == sorted(amounts, reverse=True)
    response = client.get("/pipeline/?view=list&sort=stage")
    assert [c.deal.stage.key for c in response.context["page"].items] == ["new", "contacted", "interested"]
    assert response.context["page"].count == 3


def test_move_without_javascript_and_lost_reason_page(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.ensure_deal(lead_id=lead.pk)
    client = _client(world.rep)
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage_id": stage("contacted").pk, "next": "/pipeline/"})
    assert response.status_code == 302 and Deal.objects.get(lead=lead).stage.key == "contacted"
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage_id": stage("lost").pk, "next": "/pipeline/"})
    assert response.status_code == 422
    assert "Why was this deal lost?" in response.content.decode()
    data = {"stage_id": stage("lost").pk, "lost_reason": "Too expensive", "next": "https://evil.example/"}
    response = client.post(f"/pipeline/{lead.pk}/move/", data)
    assert response.status_code == 302 and response["Location"] == "/pipeline/"
    assert Lead.objects.get(pk=lead.pk).outcome_reason == "Too expensive"


def test_move_with_htmx_answers_204_or_the_error(world: World) -> None:
    lead = world.lead(owner=world.rep)
    client = _client(world.rep)
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage_id": stage("lost").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "Say why" in response.content.decode()
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage_id": stage("won").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Trigger"] == "pipeline-changed"


def test_lead_panel(world: World, django_assert_max_num_queries: Any) -> None:
    lead = world.lead(owner=world.rep, lifecycle_stage="sql")
    client = _client(world.rep)
    with django_assert_max_num_queries(10):
        response = client.get(f"/pipeline/leads/{lead.pk}/panel/")
    assert response.status_code == 200 and "Not on the pipeline yet." in response.content.decode()
    url = f"/pipeline/leads/{lead.pk}/panel/"
    response = client.post(url, {"action": "convert"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "pipeline-changed"
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "opportunity"
    response = client.post(url, {"action": "amount", "amount": "abc"}, HTTP_HX_REQUEST="true")
    assert "Enter a number." in response.content.decode() and not response.has_header("HX-Trigger")
    client.post(url, {"action": "amount", "amount": "4200", "currency": "EUR"}, HTTP_HX_REQUEST="true")
    response = client.post(url, {"action": "lost", "lost_reason": ""}, HTTP_HX_REQUEST="true")
    assert "Say why the deal was lost." in response.content.decode()
    response = client.post(url, {"action": "won"}, HTTP_HX_REQUEST="true")
    assert Lead.objects.get(pk=lead.pk).outcome == "won"
    assert "4,200" in response.content.decode() or "4.200" in response.content.decode()
    other = world.lead(owner=world.other_rep, team=world.other_team)
    assert client.get(f"/pipeline/leads/{other.pk}/panel/").status_code == 404


def test_stage_configuration_page(world: World) -> None:
    assert _client(world.rep).get("/pipeline/stages/").status_code == 403
    manager = _client(world.manager)
    response = manager.get("/pipeline/stages/")
    assert response.status_code == 200 and "This team uses the default stages." in response.content.decode()
    response = manager.post("/pipeline/stages/", {"team": world.team.pk, "action": "copy"})
    assert response.status_code == 302
    response = manager.post("/pipeline/stages/", {"team": world.team.pk, "action": "add", "name": "Demo",
                                                  "kind": "open", "probability": "40"})  # fmt: skip
    assert response.status_code == 302
    response = manager.post("/pipeline/stages/", {"team": world.team.pk, "action": "add", "name": ""})
    assert response.status_code == 422
    board = manager.get(f"/pipeline/?team={world.team.pk}").context["board"]
    assert "Demo" in [c.label for c in board.columns]


def test_timeline_renders_stage_changes(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.mark_lost(actor=world.rep, lead_id=lead.pk, reason="No budget")
    html = _client(world.rep).get(f"/leads/{lead.pk}/").content.decode()
    assert "moved the deal from" in html and "Lost reason: No budget" in html
