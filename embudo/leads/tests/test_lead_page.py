"""The lead page a rep lives in: inline edit of the side cards, the filtered and paginated timeline,
the header refresh, the htmx note form, and their query counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads import selectors, views
from embudo.leads import services as leads_services
from embudo.leads.models import Lead
from embudo.leads.templatetags.lead_page import tel_url, whatsapp_url
from embudo.leads.tests.factories import CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def team() -> Any:
    return TeamFactory(name="Sur", slug="sur")


@pytest.fixture
def rep(team: Any) -> Any:
    return UserFactory(full_name="Rita Rep", role=Role.SALES_REP, teams=[team])


@pytest.fixture
def rep_client(client: Client, rep: Any) -> Client:
    client.force_login(rep)
    return client


@pytest.fixture
def lead(rep: Any, team: Any) -> Lead:
    return LeadFactory(first_name="Marta", last_name="Gómez", phone="+34600111222", email="marta@example.es",
                       job_title="CTO", company_name="Acme", owner=rep, team=team)  # fmt: skip


def _event(lead: Lead, type_: str, minutes_ago: int, **payload: Any) -> DomainEvent:
    return DomainEvent.objects.create(
        type=type_, occurred_at=timezone.now() - timedelta(minutes=minutes_ago), lead_id=lead.pk, payload=payload
    )


# ----------------------------------------------------------------------------- header


def test_page_header_has_contact_actions_and_chips(rep_client: Client, lead: Lead) -> None:
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "<h1>Marta Gómez</h1>" in html
    assert "CTO · Acme" in html
    assert 'href="tel:+34600111222"' in html
    assert 'href="mailto:marta@example.es"' in html
    assert 'href="https://wa.me/34600111222"' in html
    assert 'id="lead-chips"' in html
    assert "Rita Rep" in html
    # The header, timeline and record card refresh on every panel's event and on this page's own edits.
    for event in ("interactions-changed", "pipeline-changed", "tasks-changed", "lead-changed"):
        assert f"{event} from:body" in html


def test_company_card_shows_the_company_lead_counts(rep_client: Client, rep: Any, lead: Lead) -> None:
    rep.language = "es"
    rep.save(update_fields=["language"])
    company = CompanyFactory(name="Acme Iberia", domain="acme-iberia.es")
    Lead.objects.filter(pk=lead.pk).update(company=company)
    LeadFactory(company=company)
    leads_services.drain_company_stats()
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    link = f'<a href="/leads/?company={company.pk}">2</a>'
    assert f"<dt>Clientes potenciales de esta empresa</dt><dd>{link}</dd>" in html
    assert "<dt>Último cliente potencial</dt>" in html
    # The link lists the company's leads the rep can see, with the filter shown and removable.
    LeadFactory(owner=rep, company=CompanyFactory(name="Globex"), first_name="Otra")
    LeadFactory(owner=rep, first_name="Sinempresa")
    listed = rep_client.get(f"/leads/?company={company.pk}&sort=-created").content.decode()
    assert "Marta" in listed and "Otra" not in listed and "Sinempresa" not in listed
    assert "Empresa: <strong>Acme Iberia</strong>" in listed
    assert '<a href="/leads/?sort=-created"' in listed and 'aria-label="Quitar este filtro"' in listed
    assert "Otra" in rep_client.get("/leads/").content.decode()


def test_header_fragment(rep_client: Client, lead: Lead) -> None:
    html = rep_client.get(reverse("leads:header", args=[lead.pk]), headers=HTMX).content.decode()
    assert "<html" not in html
    assert 'id="lead-head"' in html and "Marta Gómez" in html


def test_contact_link_helpers() -> None:
    assert whatsapp_url("+34 600 111 222") == "https://wa.me/34600111222"
    assert whatsapp_url("") == ""
    assert tel_url("+34 (600) 111-222") == "tel:+34600111222"
    assert tel_url("600111222") == "tel:600111222"
    assert tel_url("") == ""


def test_page_includes_panels_that_exist(rep_client: Client, lead: Lead) -> None:
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    # Scoring and routing have their panels; each loads itself and listens to its app's event.
    assert 'id="scoring-panel"' in html and "load, scoring-changed from:body" in html
    assert 'id="routing-panel"' in html and "load, routing-changed from:body" in html
    # Interactions, tasks and the deal re-render themselves after their own posts: loaded once.
    for name in ("interactions", "pipeline", "followups"):
        url = reverse(f"{name}:lead_panel", args=[lead.pk])
        assert f'hx-get="{url}" hx-trigger="load"' in html


# ----------------------------------------------------------------------------- inline edit


def test_inline_edit_form_replaces_the_card(rep_client: Client, lead: Lead) -> None:
    url = reverse("leads:card_edit", args=[lead.pk, "contact"])
    html = rep_client.get(url, headers=HTMX).content.decode()
    assert "<html" not in html
    assert 'id="card-contact"' in html
    assert 'value="+34600111222"' in html
    assert '<label for="id_contact-phone">Phone</label>' in html
    assert "data-inline-edit" in html and "data-cancel" in html


def test_inline_edit_without_js_goes_to_the_edit_page(rep_client: Client, lead: Lead) -> None:
    response = rep_client.get(reverse("leads:card_edit", args=[lead.pk, "contact"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:edit", args=[lead.pk])
    # The full edit page stays.
    assert rep_client.get(reverse("leads:edit", args=[lead.pk])).status_code == 200


def _contact(**overrides: str) -> dict[str, str]:
    data = {"first_name": "Marta", "last_name": "Gómez", "job_title": "CTO", "email": "marta@example.es",
            "phone": "+34600111222", "language": ""}  # fmt: skip
    data.update(overrides)
    return {f"contact-{k}": v for k, v in data.items()}


def test_inline_edit_saves_and_swaps_the_card_back(rep_client: Client, lead: Lead) -> None:
    url = reverse("leads:card_edit", args=[lead.pk, "contact"])
    response = rep_client.post(url, _contact(phone="+34 699 000 111", job_title="CEO"), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "lead-changed"
    html = response.content.decode()
    assert "<form" not in html
    assert "+34699000111" in html and "CEO" in html
    assert "data-autofocus" in html  # focus goes back to the card's Edit button
    lead.refresh_from_db()
    assert (lead.phone, lead.job_title) == ("+34699000111", "CEO")
    updated = DomainEvent.objects.get(lead_id=lead.pk, type="leads.LeadUpdated")
    assert set(updated.payload["changes"]) == {"phone", "job_title"}


def test_inline_edit_shows_field_errors_accessibly(rep_client: Client, lead: Lead) -> None:
    url = reverse("leads:card_edit", args=[lead.pk, "contact"])
    response = rep_client.post(url, _contact(phone="call me maybe"), headers=HTMX)
    assert response.status_code == 200  # htmx swaps 200s only
    assert "HX-Trigger" not in response
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_contact-phone_error"' in html
    assert 'id="id_contact-phone_error"' in html
    assert 'value="call me maybe"' in html
    lead.refresh_from_db()
    assert lead.phone == "+34600111222"
    assert not DomainEvent.objects.filter(lead_id=lead.pk, type="leads.LeadUpdated").exists()


def test_inline_edit_duplicate_email_is_a_field_error(rep_client: Client, lead: Lead, rep: Any) -> None:
    LeadFactory(email="taken@example.es", owner=rep)
    url = reverse("leads:card_edit", args=[lead.pk, "contact"])
    html = rep_client.post(url, _contact(email="taken@example.es"), headers=HTMX).content.decode()
    assert 'id="id_contact-email_error"' in html
    assert "already exists" in html


def test_inline_edit_of_address_and_company(rep_client: Client, lead: Lead) -> None:
    address = {"street_address": "Gran Vía 1", "address_line2": "", "city": "Madrid", "region": "",
               "postal_code": "28013", "country": "ES"}  # fmt: skip
    response = rep_client.post(
        reverse("leads:card_edit", args=[lead.pk, "address"]),
        {f"address-{k}": v for k, v in address.items()},
        headers=HTMX,
    )
    assert "Gran Vía 1" in response.content.decode()
    rep_client.post(
        reverse("leads:card_edit", args=[lead.pk, "company"]), {"company-company_name": "Acme Iberia"}, headers=HTMX
    )
    lead.refresh_from_db()
    assert (lead.city, lead.postal_code, lead.company_name) == ("Madrid", "28013", "Acme Iberia")


def test_inline_edit_without_js_post_redirects(rep_client: Client, lead: Lead) -> None:
    response = rep_client.post(reverse("leads:card_edit", args=[lead.pk, "contact"]), _contact(last_name="Gil"))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    bad = rep_client.post(reverse("leads:card_edit", args=[lead.pk, "contact"]), _contact(phone="x"))
    assert bad.status_code == 200 and "<html" in bad.content.decode()


def test_cancel_puts_the_card_back(rep_client: Client, lead: Lead) -> None:
    html = rep_client.get(
        reverse("leads:card", args=[lead.pk, "contact"]) + "?refocus=1", headers=HTMX
    ).content.decode()
    assert 'id="card-contact"' in html and "<form" not in html and "data-autofocus" in html


def test_inline_edit_permissions(client: Client, lead: Lead, team: Any) -> None:
    other = UserFactory(role=Role.SALES_REP, teams=[team])
    client.force_login(other)
    url = reverse("leads:card_edit", args=[lead.pk, "contact"])
    assert client.get(url, headers=HTMX).status_code == 404
    assert client.post(url, _contact(phone="+34611000000"), headers=HTMX).status_code == 404
    assert client.get(reverse("leads:card", args=[lead.pk, "contact"]), headers=HTMX).status_code == 404
    assert client.get(reverse("leads:header", args=[lead.pk])).status_code == 404
    assert client.get(reverse("leads:timeline", args=[lead.pk]), headers=HTMX).status_code == 404
    lead.refresh_from_db()
    assert lead.phone == "+34600111222"
    client.logout()
    assert client.post(url, _contact()).status_code == 302  # to the login page


def test_unknown_section_is_404(rep_client: Client, lead: Lead) -> None:
    assert rep_client.get(reverse("leads:card_edit", args=[lead.pk, "owner_id"]), headers=HTMX).status_code == 404
    assert rep_client.get(reverse("leads:card", args=[lead.pk, "nope"]), headers=HTMX).status_code == 404


# ----------------------------------------------------------------------------- note (htmx)


def test_note_through_htmx_answers_the_card_and_refreshes_the_timeline(rep_client: Client, lead: Lead) -> None:
    url = reverse("leads:add_note", args=[lead.pk])
    response = rep_client.post(url, {"text": "Wants a demo on Monday."}, headers=HTMX)
    assert response["HX-Trigger"] == "lead-changed"
    assert "Note added." in response.content.decode()
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="leads.NoteAdded").count() == 1
    empty = rep_client.post(url, {"text": ""}, headers=HTMX)
    assert "HX-Trigger" not in empty and 'class="errorlist"' in empty.content.decode()


# ----------------------------------------------------------------------------- timeline


@pytest.fixture
def busy_lead(lead: Lead) -> Lead:
    _event(lead, "leads.LeadCreated", 100, channel="manual")
    _event(lead, "capture.LeadCaptured", 90, channel="form", summary={"message": "Hola"})
    _event(lead, "activity.test_view", 80)
    _event(lead, "routing.TestAssigned", 70)
    _event(lead, "interactions.TestLogged", 60)
    _event(lead, "interactions.TestLogged", 55)
    _event(lead, "leads.NoteAdded", 50, text="Budget approved")
    _event(lead, "scoring.LifecycleChanged", 40, old_stage="lead", stage="sql", reason="", rule="")
    _event(lead, "pipeline.TestMoved", 30)
    _event(lead, "followups.TestTask", 20)
    _event(lead, "sla.TestMet", 10)
    _event(lead, "leads.LeadUpdated", 5, changes={"city": ["", "Madrid"]})
    return lead


def test_timeline_filter_counts(rep_client: Client, busy_lead: Lead) -> None:
    html = rep_client.get(reverse("leads:detail", args=[busy_lead.pk])).content.decode()
    counts = {
        key: int(html.split(f'data-timeline-filter="{key}">', 1)[1].split('filter-chip__count">', 1)[1].split("<")[0])
        for key in ("all", "interactions", "notes", "stages", "tasks", "captures", "activity", "assignment", "changes")
    }
    assert counts == {"all": 12, "interactions": 2, "notes": 1, "stages": 2, "tasks": 1, "captures": 1,
                      "activity": 1, "assignment": 2, "changes": 2}  # fmt: skip


def test_timeline_filter_fragment_and_full_page(rep_client: Client, busy_lead: Lead) -> None:
    url = reverse("leads:timeline", args=[busy_lead.pk])
    response = rep_client.get(url, {"timeline": "notes", "focus": "1"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="lead-timeline"' in html
    assert "Budget approved" in html
    assert html.count('class="timeline__item') == 1
    # The active chip is marked (and focused after a click); the card refreshes with the same filter.
    assert 'aria-current="true" data-autofocus\n             data-timeline-filter="notes"' in html or (
        'data-timeline-filter="notes"' in html and "data-autofocus" in html
    )
    assert f'hx-get="{url}?timeline=notes"' in html
    assert f'hx-push-url="{reverse("leads:detail", args=[busy_lead.pk])}?timeline=interactions"' in html
    # Without JavaScript, the chip is a link to the page with the filter.
    page = rep_client.get(reverse("leads:detail", args=[busy_lead.pk]), {"timeline": "stages"}).content.decode()
    timeline = page.split('id="lead-timeline"', 1)[1]
    assert timeline.count('class="timeline__item') == 2
    # The fragment URL without htmx sends to the page.
    assert rep_client.get(url, {"timeline": "notes"})["Location"].endswith("?timeline=notes")
    # An unknown filter shows everything.
    html = rep_client.get(url, {"timeline": "bogus"}, headers=HTMX).content.decode()
    assert html.count('class="timeline__item') == 12


def test_timeline_load_older(rep_client: Client, busy_lead: Lead, monkeypatch: Any) -> None:
    monkeypatch.setattr(views, "TIMELINE_PAGE_SIZE", 5)
    page = rep_client.get(reverse("leads:detail", args=[busy_lead.pk])).content.decode()
    timeline = page.split('id="lead-timeline"', 1)[1]
    assert timeline.count('class="timeline__item') == 5
    assert "Load older" in timeline
    older_url = timeline.split('hx-get="', 3)[-1]  # the last hx-get of the card is "Load older"
    older_url = timeline.split("timeline__more", 1)[1].split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    seen: list[str] = []
    while older_url:
        html = rep_client.get(older_url, headers=HTMX).content.decode()
        assert "<section" not in html  # only the items (and the next "Load older")
        seen.append(html)
        older_url = (
            html.split("timeline__more", 1)[1].split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            if "timeline__more" in html
            else ""
        )
    assert [h.count('class="timeline__item') for h in seen] == [5, 2]
    assert "data-autofocus" in seen[0]  # focus goes to the first older entry
    assert "Madrid" in timeline and "Hola" in seen[-1]  # newest first, oldest last
    # A forged cursor starts again from the newest.
    forged = rep_client.get(reverse("leads:timeline", args=[busy_lead.pk]), {"cursor": "zz"}, headers=HTMX)
    assert forged.status_code == 200


def test_timeline_selector_prefixes_and_cursor(busy_lead: Lead) -> None:
    events = selectors.list_timeline(busy_lead.pk, prefixes=["interactions."], types=["leads.NoteAdded"])
    assert [e.type for e in events] == ["leads.NoteAdded", "interactions.TestLogged", "interactions.TestLogged"]
    first = selectors.timeline_page(busy_lead.pk, prefixes=["routing.", "sla."], limit=1)
    assert [e.type for e in first.items] == ["sla.TestMet"] and first.next_cursor
    second = selectors.timeline_page(busy_lead.pk, prefixes=["routing.", "sla."], limit=1, cursor=first.next_cursor)
    assert [e.type for e in second.items] == ["routing.TestAssigned"] and second.next_cursor is None
    # LIKE wildcards in a prefix are literal.
    assert selectors.list_timeline(busy_lead.pk, prefixes=["lead_."]) == []
    assert selectors.count_timeline_types(busy_lead.pk)["interactions.TestLogged"] == 2


def test_timeline_refreshes_from_its_own_url(rep_client: Client, busy_lead: Lead) -> None:
    html = rep_client.get(reverse("leads:detail", args=[busy_lead.pk]), {"timeline": "tasks"}).content.decode()
    section = html.split('id="lead-timeline"', 1)[0].rsplit("<section", 1)[1] + html.split('id="lead-timeline"', 1)[1]
    assert f'hx-get="{reverse("leads:timeline", args=[busy_lead.pk])}?timeline=tasks"' in section


# ----------------------------------------------------------------------------- query counts


def _fill(lead: Lead, n: int) -> None:
    actors = [UserFactory() for _ in range(3)]
    now = timezone.now()
    DomainEvent.objects.bulk_create(
        DomainEvent(
            type=t,
            occurred_at=now - timedelta(minutes=i),
            lead_id=lead.pk,
            actor_id=actors[i % 3].pk,
            payload={"text": "x"} if t == "leads.NoteAdded" else {},
        )  # fmt: skip
        # Synthetic types of each family (other apps' timeline templates need their real payloads).
        for i, t in enumerate(
            ["leads.NoteAdded", "interactions.TestLogged", "activity.test_view", "pipeline.TestMoved"] * (n // 4)
        )
    )


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MANAGER])
def test_lead_page_query_count_does_not_grow(
    client: Client, team: Any, role: str, django_assert_max_num_queries: Any
) -> None:
    user = UserFactory(role=role, teams=[team])
    client.force_login(user)
    lead = LeadFactory(owner=user, team=team, company=CompanyFactory(), phone="+34600000000")
    _fill(lead, 8)
    url = reverse("leads:detail", args=[lead.pk])
    with django_assert_max_num_queries(11) as few:
        assert client.get(url).status_code == 200
    _fill(lead, 200)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url, {"timeline": "interactions"})


def test_timeline_fragment_query_counts(rep_client: Client, lead: Lead, django_assert_max_num_queries: Any) -> None:
    _fill(lead, 120)
    url = reverse("leads:timeline", args=[lead.pk])
    # session, user, the rep's teams, the lead, one page of events, the counts per type, their actors
    with django_assert_max_num_queries(7):
        html = rep_client.get(url, headers=HTMX).content.decode()
    with django_assert_max_num_queries(7):
        rep_client.get(url, {"timeline": "notes"}, headers=HTMX)
    cursor = html.split("cursor=", 1)[1].split('"', 1)[0].split("&", 1)[0]
    with django_assert_max_num_queries(6):  # no counts when loading older entries
        rep_client.get(url, {"cursor": cursor}, headers=HTMX)
    with django_assert_max_num_queries(4):
        rep_client.get(reverse("leads:header", args=[lead.pk]))


def test_card_edit_query_count(rep_client: Client, lead: Lead, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(4):
        rep_client.get(reverse("leads:card_edit", args=[lead.pk, "contact"]), headers=HTMX)


def test_lead_page_in_spanish(client: Client, lead: Lead) -> None:
    admin = UserFactory(role=Role.ADMIN, language="es")
    client.force_login(admin)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Historial" in html
