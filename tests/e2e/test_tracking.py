"""End-to-end: the tracking snippet on a page of ANOTHER origin, in a real browser. Nothing leaves the
page before consent; after consent the page view is stored anonymous; submitting the embedded Embudo
form stitches it to the new lead, whose timeline then shows it."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture.tests.forms_helpers import FIELDS, make_form
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.tracking.models import TrackingSite, Visitor
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pricing · Partner</title></head>
<body><h1>Our pricing</h1>
<button type="button" onclick="EmbudoTrack.consent()">Accept tracking</button>
<div id="form-here"></div>
<script src="{live}/static/tracking/embudo-track.js" data-site="{key}" defer></script>
<script src="{live}/f/contact/embed.js" data-target="#form-here" data-title="Contact form" async></script>
</body></html>"""
# Until the form channel keeps ``embudo_visitor_id`` as a meta field, a hidden form field carries it.
VISITOR_FIELD = {"name": "embudo_visitor_id", "type": "hidden", "required": False, "label_en": "Visitor",
                 "maps_to": ""}  # fmt: skip


@pytest.fixture
def other_origin(live_server: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """A static site on 127.0.0.1 (the live server is on localhost); the page is set once the key exists."""
    content: dict[str, str] = {"html": ""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            html = content["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", content
    finally:
        server.shutdown()
        server.server_close()


def test_snippet_waits_for_consent_then_stitches_visits_to_the_form_lead(
    page: Any, live_server: Any, other_origin: tuple[str, dict[str, str]]
) -> None:
    origin, content = other_origin
    site = TrackingSite.objects.create(name="Partner", allowed_origins=origin)
    content["html"] = HOST_PAGE.format(live=live_server.url, key=site.public_key)
    make_form(allowed_hosts=origin.removeprefix("http://"), min_fill_seconds=1, fields=[*FIELDS, VISITOR_FIELD])
    admin = UserFactory.create(role=Role.ADMIN)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/t/collect" in request.url else None)

    page.goto(f"{origin}/pricing?utm_source=newsletter")
    frame = page.frame_locator("iframe[data-embudo-form]")
    expect(frame.get_by_label("First name")).to_be_visible()
    page.wait_for_timeout(500)
    assert sent == []  # before consent: nothing sent
    assert page.evaluate("window.localStorage.length") == 0  # …and nothing stored
    assert not DomainEvent.objects.filter(type__startswith="activity.").exists()

    with page.expect_response(lambda r: "/t/collect" in r.url) as collected:
        page.get_by_role("button", name="Accept tracking").click()
    assert collected.value.status == 200
    visitor_id = page.evaluate("EmbudoTrack.visitorId()")
    view = DomainEvent.objects.get(type="activity.page_view")
    assert view.lead_id is None and view.payload["visitor_id"] == visitor_id
    assert view.payload["properties"]["path"] == "/pricing"
    assert view.payload["properties"]["utm_source"] == "newsletter"

    # The snippet hands its visitor id to the embedded form (the iframe reloads with it).
    expect(page.locator("iframe[data-embudo-form]")).to_have_attribute(
        "src", re.compile(f"embudo_visitor_id={visitor_id}")
    )
    frame = page.frame_locator("iframe[data-embudo-form]")
    frame.get_by_role("textbox", name="Email", exact=True).fill("dora@partner.example")
    frame.get_by_label("First name").fill("Dora")
    frame.get_by_label("I agree to receive marketing emails.").check()
    page.wait_for_timeout(1100)  # longer than the form's minimum fill time
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Thanks a lot!")).to_be_visible()

    lead = Lead.objects.get(email="dora@partner.example")
    view.refresh_from_db()
    assert view.lead_id == lead.pk
    assert Visitor.objects.get(pk=visitor_id).lead_id == lead.pk

    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    timeline = page.locator(".timeline")
    expect(timeline.get_by_text("Viewed page")).to_be_visible()
    expect(timeline.get_by_text("/pricing")).to_be_visible()


def test_data_consent_attribute_sends_at_once_and_revoke_forgets(
    page: Any, live_server: Any, other_origin: tuple[str, dict[str, str]]
) -> None:
    origin, content = other_origin
    site = TrackingSite.objects.create(name="Partner", allowed_origins=origin)
    script = f"{live_server.url}/static/tracking/embudo-track.js"
    content["html"] = (
        "<!doctype html><html><head><title>Docs</title></head><body><h1>Docs</h1>"
        f'<script src="{script}" data-site="{site.public_key}" data-consent="granted"></script></body></html>'
    )
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/t/collect" in request.url else None)
    with page.expect_response(lambda r: "/t/collect" in r.url):
        page.goto(f"{origin}/docs")
    assert page.evaluate("window.localStorage.getItem('embudo_track')")
    page.evaluate("EmbudoTrack.revoke(); EmbudoTrack.page(); EmbudoTrack.track('video_played')")
    page.wait_for_timeout(300)
    assert len(sent) == 1
    assert page.evaluate("window.localStorage.getItem('embudo_track')") is None
    assert page.evaluate("EmbudoTrack.visitorId()") is None
    assert DomainEvent.objects.filter(type="activity.page_view").count() == 1
