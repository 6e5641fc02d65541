"""The snippet's collect endpoint (CORS, consent-free of cookies, limits) and the sites UI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.core.models import DomainEvent
from embudo.leads.tests.factories import LeadFactory
from embudo.tracking.models import TrackingSite, Visitor

pytestmark = pytest.mark.django_db
ORIGIN = "https://www.shop.example"
VISITOR = "0123456789abcdef"


@pytest.fixture
def site() -> TrackingSite:
    return TrackingSite.objects.create(name="Shop", allowed_origins=f"{ORIGIN}\nhttps://*.blog.example")


def send(site: TrackingSite, body: Any, *, origin: str = ORIGIN, client: Client | None = None) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return (client or Client()).post(f"/t/collect?k={site.public_key}", data, content_type="text/plain;charset=UTF-8",
                                     HTTP_ORIGIN=origin)  # fmt: skip


def page_view(path: str = "/pricing") -> dict[str, Any]:
    return {"type": "page_view", "properties": {"url": f"{ORIGIN}{path}", "path": path, "title": "Pricing",
                                                "utm_source": "ads", "secret": "dropped"}}  # fmt: skip


def test_allowed_origin_stores_an_anonymous_page_view_without_cookies(site: TrackingSite) -> None:
    client = Client()
    response = send(site, {"visitor_id": VISITOR, "events": [page_view()]}, client=client)
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in response
    assert not response.cookies and not client.cookies
    event = DomainEvent.objects.get(type="activity.page_view")
    assert event.lead_id is None
    assert event.payload["visitor_id"] == VISITOR and event.payload["source"] == "snippet"
    assert event.payload["properties"] == {"url": f"{ORIGIN}/pricing", "path": "/pricing", "title": "Pricing",
                                           "utm_source": "ads"}  # fmt: skip


def test_wildcard_subdomain_and_preflight(site: TrackingSite) -> None:
    assert (
        send(site, {"visitor_id": VISITOR, "events": [page_view()]}, origin="https://en.blog.example").status_code
        == 200
    )
    preflight = Client().options(f"/t/collect?k={site.public_key}", HTTP_ORIGIN=ORIGIN)
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example", "http://www.shop.example", "", "null"])
def test_other_origins_are_refused_without_cors_headers(site: TrackingSite, origin: str) -> None:
    response = send(site, {"visitor_id": VISITOR, "events": [page_view()]}, origin=origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not DomainEvent.objects.exists()


def test_unknown_or_inactive_site(site: TrackingSite) -> None:
    response = Client().post("/t/collect?k=nope", "{}", content_type="text/plain", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 404
    site.active = False
    site.save()
    assert send(site, {"visitor_id": VISITOR}).status_code == 404


def test_rate_limit_per_ip(site: TrackingSite) -> None:
    site.max_requests_per_minute = 2
    site.save()
    body = {"visitor_id": VISITOR, "events": [page_view()]}
    assert [send(site, body).status_code for _ in range(3)] == [200, 200, 429]
    assert DomainEvent.objects.count() == 2


def test_body_limits_and_bad_json(site: TrackingSite) -> None:
    big = {"visitor_id": VISITOR, "events": [{"type": "signup_step", "properties": {"x": "y" * 20000}}]}
    assert send(site, big).status_code == 413
    assert send(site, "{nope").status_code == 400
    assert send(site, {"visitor_id": "short", "events": [page_view()]}).json() == {"stored": 0, "rejected": 1}


def test_weighty_builtin_types_are_refused_from_web_pages(site: TrackingSite) -> None:
    body = {"visitor_id": VISITOR, "events": [{"type": "demo_requested"}, {"type": "pricing_calculator_used"}]}
    assert send(site, body).json() == {"stored": 1, "rejected": 1}
    assert list(DomainEvent.objects.values_list("type", flat=True)) == ["activity.pricing_calculator_used"]


def test_identify_stitches_but_does_not_reveal_leads(site: TrackingSite, score_calls: list[Any]) -> None:
    lead = LeadFactory.create(email="carla@client.example")
    send(site, {"visitor_id": VISITOR, "events": [page_view("/a"), page_view("/b")]})
    unknown = send(site, {"visitor_id": VISITOR, "identify": {"email": "nobody@client.example"}})
    known = send(site, {"visitor_id": VISITOR, "identify": {"email": "Carla@client.example"}})
    assert unknown.json() == known.json() == {"stored": 0, "rejected": 0}
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="activity.page_view").count() == 2
    assert Visitor.objects.get(pk=VISITOR).site_id == site.pk
    assert score_calls == [([lead.pk], "activity")]
    send(site, {"visitor_id": VISITOR, "events": [page_view("/c")]})
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="activity.page_view").count() == 3


def test_sites_ui_for_marketing(client: Client) -> None:
    user = UserFactory.create(role=Role.MARKETING)
    client.force_login(user)
    response = client.post("/t/sites/new/", {"name": "Blog", "allowed_origins": "https://Blog.example/\nnot an origin",
                                             "max_requests_per_minute": 60, "active": "on"})  # fmt: skip
    assert response.status_code == 400 and "is not an origin" in response.content.decode()
    response = client.post("/t/sites/new/", {"name": "Blog", "allowed_origins": "https://Blog.example/",
                                             "max_requests_per_minute": 60, "active": "on"})  # fmt: skip
    site = TrackingSite.objects.get()
    assert response.status_code == 302 and site.allowed_origins == "https://blog.example"
    page = client.get(f"/t/sites/{site.pk}/").content.decode()
    assert site.public_key in page and "embudo-track.js" in page and "/t/collect" in page
    assert site.name in client.get("/t/sites/").content.decode()
    old_key = site.public_key
    client.post(f"/t/sites/{site.pk}/rotate/")
    site.refresh_from_db()
    assert site.public_key != old_key


def test_sites_ui_is_closed_to_sales_reps(client: Client) -> None:
    client.force_login(UserFactory.create(role=Role.SALES_REP))
    assert client.get("/t/sites/").status_code == 403


def test_activity_events_render_on_the_lead_page(client: Client) -> None:
    from embudo.tracking import services

    admin = UserFactory.create(role=Role.ADMIN)
    lead = LeadFactory.create()
    services.ingest_events([
        {"type": "page_view", "lead_id": lead.pk, "properties": {"path": "/pricing", "title": "Pricing plans"}},
        {"type": "webinar_attended", "lead_id": lead.pk, "properties": {"title": "Scoring 101"}},
        {"type": "trial_extended", "lead_id": lead.pk},
    ], scope="token:1", source="api")  # fmt: skip
    client.force_login(admin)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Viewed page" in page and "/pricing" in page and "Pricing plans" in page
    assert "Attended a webinar" in page and "Scoring 101" in page
    assert "activity.trial_extended" in page  # custom types: the generic line
