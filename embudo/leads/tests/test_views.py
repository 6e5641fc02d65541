from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads import services
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Any:
    return TeamFactory(name="Norte", slug="norte")


@pytest.fixture
def rep(team: Any) -> Any:
    return UserFactory(full_name="Rita Rep", role=Role.SALES_REP, teams=[team])


@pytest.fixture
def rep_client(client: Client, rep: Any) -> Client:
    client.force_login(rep)
    return client


def _form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Marta",
        "last_name": "Gómez",
        "email": "marta@example.es",
        "phone": "",
        "job_title": "CTO",
        "company_name": "Acme",
        "street_address": "",
        "address_line2": "",
        "city": "Madrid",
        "region": "",
        "postal_code": "",
        "country": "ES",
        "language": "es",
        "source": "",
        "lifecycle_stage": "lead",
        "status": "new",
        "owner_id": "",
        "team_id": "",
    }
    data.update(overrides)
    return data


def test_lead_pages_require_login(client: Client) -> None:
    lead = LeadFactory()
    for url in (
        reverse("leads:list"),
        reverse("leads:create"),
        reverse("leads:detail", args=[lead.pk]),
        reverse("leads:edit", args=[lead.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_rep_sees_own_and_unassigned_team_leads_only(rep_client: Client, rep: Any, team: Any) -> None:
    other_rep = UserFactory(role=Role.SALES_REP, teams=[team])
    LeadFactory(first_name="Own", last_name="Lead", owner=rep, team=team)
    LeadFactory(first_name="Pool", last_name="Lead", owner=None, team=team)
    LeadFactory(first_name="Foreign", last_name="Lead", owner=other_rep, team=team)
    LeadFactory(first_name="Elsewhere", last_name="Lead", owner=None, team=TeamFactory())
    html = rep_client.get(reverse("leads:list")).content.decode()
    assert "Own Lead" in html
    assert "Pool Lead" in html
    assert "Foreign Lead" not in html
    assert "Elsewhere Lead" not in html


def test_rep_gets_404_on_another_reps_lead(rep_client: Client, team: Any) -> None:
    lead = LeadFactory(owner=UserFactory(role=Role.SALES_REP, teams=[team]), team=team)
    assert rep_client.get(reverse("leads:detail", args=[lead.pk])).status_code == 404
    assert rep_client.get(reverse("leads:edit", args=[lead.pk])).status_code == 404


def test_list_search_returns_results_fragment_for_htmx(rep_client: Client, rep: Any) -> None:
    LeadFactory(first_name="Zacarías", last_name="Uno", owner=rep)
    LeadFactory(first_name="Beatriz", last_name="Dos", owner=rep)
    response = rep_client.get(
        reverse("leads:list"), {"search": "zacar"}, headers={"HX-Request": "true", "HX-Target": "lead-results"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "Zacarías Uno" in html
    assert "Beatriz Dos" not in html


def test_list_filters_by_owner_me_and_unassigned(rep_client: Client, rep: Any, team: Any) -> None:
    LeadFactory(first_name="Mine", last_name="X", owner=rep, team=team)
    LeadFactory(first_name="Nobodys", last_name="X", owner=None, team=team)
    mine = rep_client.get(reverse("leads:list"), {"owner": "me"}).content.decode()
    assert "Mine X" in mine and "Nobodys X" not in mine
    unassigned = rep_client.get(reverse("leads:list"), {"owner": "none"}).content.decode()
    assert "Nobodys X" in unassigned and "Mine X" not in unassigned


def test_list_paginates_with_cursor_and_load_more(rep_client: Client, rep: Any, monkeypatch: Any) -> None:
    from embudo.leads import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        LeadFactory(first_name=f"Página{i}", last_name="Z", owner=rep)
    first = rep_client.get(reverse("leads:list")).content.decode()
    assert first.count('data-label="Score"') == 2
    assert "cursor=" in first
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0]
    rows = rep_client.get(
        reverse("leads:list"), {"cursor": cursor}, headers={"HX-Request": "true", "HX-Target": "load-more-row"}
    ).content.decode()
    assert "<table" not in rows
    assert rows.count('data-label="Score"') == 2
    # A bad cursor falls back to the first page.
    assert rep_client.get(reverse("leads:list"), {"cursor": "garbage!"}).status_code == 200


def test_list_query_count_does_not_grow_with_leads(
    client: Client, django_assert_max_num_queries: Any, team: Any
) -> None:
    manager = UserFactory(role=Role.MANAGER, teams=[team])
    client.force_login(manager)
    for _ in range(3):
        LeadFactory(owner=UserFactory(teams=[team]), team=team, company=CompanyFactory())
    with django_assert_max_num_queries(6) as few:
        client.get(reverse("leads:list"))
    for _ in range(30):
        LeadFactory(owner=UserFactory(teams=[team]), team=team, company=CompanyFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("leads:list"))


def test_create_lead_through_form(rep_client: Client, rep: Any) -> None:
    response = rep_client.post(reverse("leads:create"), _form_data())
    lead = Lead.objects.get(email="marta@example.es")
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert lead.owner_id == rep.pk
    page = rep_client.get(response["Location"]).content.decode()
    assert "Marta Gómez" in page
    assert "created this lead via manual" in page


def test_create_lead_with_invalid_email_shows_error_and_stores_nothing(rep_client: Client) -> None:
    response = rep_client.post(reverse("leads:create"), _form_data(email="not-an-email"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field field--invalid' in html
    assert 'class="errorlist"' in html
    assert Lead.objects.count() == 0
    assert DomainEvent.objects.count() == 0


def test_create_duplicate_email_shows_error(rep_client: Client, rep: Any) -> None:
    LeadFactory(email="marta@example.es", owner=rep)
    response = rep_client.post(reverse("leads:create"), _form_data())
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Lead.objects.count() == 1


def test_edit_lead_records_change_in_timeline(rep_client: Client, rep: Any) -> None:
    lead = services.create_lead(actor=rep, data={"first_name": "Marta", "email": "marta@example.es"})
    edit_page = rep_client.get(reverse("leads:edit", args=[lead.pk]))
    assert 'value="marta@example.es"' in edit_page.content.decode()
    form = _form_data(last_name="", city="", country="", language="", job_title="", company_name="", status="working")
    form["owner_id"] = str(rep.pk)
    form["team_id"] = str(lead.team_id or "")
    response = rep_client.post(reverse("leads:edit", args=[lead.pk]), form)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "working"
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "changed status from" in html
    assert "Working" in html


def test_rep_cannot_assign_lead_to_someone_else(rep_client: Client, rep: Any, team: Any) -> None:
    mate = UserFactory(role=Role.SALES_REP, teams=[team])
    response = rep_client.post(reverse("leads:create"), _form_data(owner_id=str(mate.pk)))
    assert response.status_code == 200
    assert Lead.objects.count() == 0


def test_add_note_shows_in_timeline(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(reverse("leads:add_note", args=[lead.pk]), {"text": "Called, wants a demo."})
    assert response.status_code == 302
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Called, wants a demo." in html
    assert "added a note" in html


def test_add_note_to_invisible_lead_is_404(rep_client: Client) -> None:
    lead = LeadFactory(owner=UserFactory())
    assert rep_client.post(reverse("leads:add_note", args=[lead.pk]), {"text": "hi"}).status_code == 404


def test_unknown_event_type_shows_its_name(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    DomainEvent.objects.create(type="scoring.ScoreChanged", occurred_at=lead.created_at, lead_id=lead.pk, payload={})
    assert "scoring.ScoreChanged" in rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()


def test_lead_page_in_spanish(client: Client, team: Any) -> None:
    user = UserFactory(role=Role.ADMIN, language="es")
    client.force_login(user)
    lead = services.create_lead(actor=user, data={"first_name": "Ana"})
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Historial" in html
    assert "creó este cliente potencial" in html
