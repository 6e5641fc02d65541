"""End-to-end: a form embedded with its script tag on a page of ANOTHER origin, filled in a real browser."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from embudo.capture.models import ConsentRecord, LeadAttribution, Submission
from embudo.capture.tests.forms_helpers import FIELDS, make_form
from embudo.leads.models import Lead

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner site</title></head>
<body><h1>Partner landing page</h1>
<div id="form-here"></div>
<script src="{script}" data-target="#form-here" data-title="Contact form" data-fields="gclid"
        data-field-campaign_id="spring-fair" async></script>
</body></html>"""


@pytest.fixture
def other_origin(live_server: Any) -> Iterator[str]:
    """A static site on 127.0.0.1 (the live server is on localhost): a different origin and site."""
    html = HOST_PAGE.format(script=f"{live_server.url}/f/contact/embed.js").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
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
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_embedded_form_on_another_origin_creates_lead_with_utm_and_consent(
    page: Any, live_server: Any, other_origin: str
) -> None:
    assert "localhost" in live_server.url
    hidden = [{"name": name, "type": "hidden", "required": False, "label_en": name, "label_es": name,
               "maps_to": f"custom:{name}"} for name in ("gclid", "campaign_id")]  # fmt: skip
    make_form(allowed_hosts=other_origin.removeprefix("http://"), min_fill_seconds=1, fields=[*FIELDS, *hidden])
    landing = f"{other_origin}/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=launch&gclid=Cj0KCQ"
    page.goto(landing)
    frame = page.frame_locator("iframe[data-embudo-form]")
    frame.get_by_role("textbox", name="Email", exact=True).fill("carmen@example.com")
    frame.get_by_label("First name").fill("carmen")
    frame.get_by_label("Company").fill("Acme")
    frame.get_by_label("I agree to receive marketing emails.").check()
    page.wait_for_timeout(1100)  # a human takes longer than the form's minimum fill time
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Thanks a lot!")).to_be_visible()

    lead = Lead.objects.get(email="carmen@example.com")
    assert lead.first_name == "Carmen" and lead.company_name == "Acme"
    # Hidden fields filled by the embedding site: one from its URL (data-fields), one fixed (data-field-*).
    assert lead.custom_fields == {"gclid": "Cj0KCQ", "campaign_id": "spring-fair"}
    attribution = LeadAttribution.objects.get(lead_id=lead.pk)
    assert (attribution.first_source, attribution.first_medium, attribution.first_campaign) == (
        "newsletter", "email", "launch",
    )  # fmt: skip
    assert attribution.first_landing_page == landing
    consent = ConsentRecord.objects.get(lead_id=lead.pk)
    assert consent.text == "I agree to receive marketing emails." and consent.text_version == "v2"
    assert consent.page_url == landing
    assert Submission.objects.get().status == "processed"
