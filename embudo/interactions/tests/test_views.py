"""The lead panel fragment and its POST endpoints, with htmx and without JavaScript."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from embudo.core import clock
from embudo.core.models import DomainEvent
from embudo.interactions import services
from embudo.interactions.models import Interaction
from embudo.interactions.tests.conftest import World
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def rep_client(client: Client, world: World) -> Client:
    client.force_login(world.rep)
    return client


def panel_url(world: World, **params: str) -> str:
    url = reverse("interactions:lead_panel", args=[world.lead.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_the_panel_needs_login_and_a_visible_lead(client: Client, world: World) -> None:
    assert client.get(panel_url(world)).status_code == 302
    client.force_login(world.other_rep)
    assert client.get(panel_url(world)).status_code == 404
    assert (
        client.post(reverse("interactions:log_call", args=[world.lead.pk]), {"outcome": "connected"}).status_code == 404
    )
    assert not Interaction.objects.exists()


def test_the_panel_shows_tabs_forms_and_recent_interactions_in_few_queries(
    rep_client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for n in range(8):
        services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="connected", duration_seconds=60 * n + 5,
                          notes=f"Call number {n}")  # fmt: skip
    with django_assert_max_num_queries(5):  # session, user, their teams (visibility), lead, recent + actors
        response = rep_client.get(panel_url(world), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="tablist"' in html and html.count('role="tab"') == 4 and html.count('role="tabpanel"') == 4
    assert 'class="card ix-panel' in html
    assert html.count('class="ix-recent__item"') == 5 and "Call number 7" in html and "07:05" in html
    assert "https://wa.me/34600111222" in html and "lola@acme.example" in html
    assert "<html" not in html


def test_kind_preselects_a_tab_and_compact_drops_the_card(rep_client: Client, world: World) -> None:
    html = rep_client.get(panel_url(world, kind="email", compact="1")).content.decode()
    tab = f'id="ix-{world.lead.pk}-tab-email" aria-controls="ix-{world.lead.pk}-tp-email"'
    assert tab + '\n            aria-selected="true"' in html
    assert 'data-ix-tabpanel="email">' in html and 'data-ix-tabpanel="call" hidden>' in html
    assert 'class="card ix-panel' not in html and "ix-panel--compact" in html
    assert 'name="compact" value="1"' in html


def test_htmx_post_logs_the_call_and_answers_the_fresh_panel(rep_client: Client, world: World) -> None:
    url = reverse("interactions:log_call", args=[world.lead.pk])
    response = rep_client.post(url, {"outcome": "connected", "direction": "outbound", "duration": "4:30",
                                     "notes": "Wants a proposal", "compact": "1"}, headers=HTMX)  # fmt: skip
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"interactions-changed": {"lead_id": world.lead.pk, "kind": "call"}}
    html = response.content.decode()
    assert "Call logged." in html and "Wants a proposal" in html and "04:30" in html and "ix-panel--compact" in html
    # Focus moves to the confirmation through htmx's settle step only: a bare autofocus would let the browser
    # steal focus back later, at its next rendering update.
    assert 'role="status" tabindex="-1" data-autofocus>Call logged.' in html and " autofocus" not in html
    call = Interaction.objects.get()
    assert (call.outcome, call.duration_seconds, call.body, call.actor_id) == (
        "connected",
        270,
        "Wants a proposal",
        world.rep.pk,
    )


def test_htmx_errors_render_inline_next_to_their_fields(rep_client: Client, world: World) -> None:
    url = reverse("interactions:log_call", args=[world.lead.pk])
    response = rep_client.post(url, {"outcome": "no_answer", "duration": "3:00", "occurred_at": "2099-01-01T10:00"},
                               headers=HTMX)  # fmt: skip
    assert response.status_code == 200 and "HX-Trigger" not in response
    html = response.content.decode()
    prefix = f"ix-{world.lead.pk}-call"
    assert f'aria-describedby="{prefix}-duration_error {prefix}-duration_helptext"' in html
    assert f'<ul class="errorlist" id="{prefix}-duration_error"><li>Nobody answered: leave the duration empty.' in html
    assert "This is in the future" in html
    assert 'data-ix-tabpanel="call">' in html  # the tab with the errors stays open
    assert not Interaction.objects.exists()

    response = rep_client.post(url, {"outcome": "connected", "duration": "ten"}, headers=HTMX)
    assert "Give the duration as minutes or mm:ss." in response.content.decode()


def test_without_javascript_a_post_redirects_to_the_lead_page_with_a_message(rep_client: Client, world: World) -> None:
    url = reverse("interactions:log_meeting", args=[world.lead.pk])
    response = rep_client.post(url, {"outcome": "held", "notes": "Demo went well"}, follow=True)
    assert response.redirect_chain == [(reverse("leads:detail", args=[world.lead.pk]), 302)]
    assert "Meeting logged." in response.content.decode()
    assert Interaction.objects.get().kind == "meeting"


def test_without_javascript_errors_render_on_a_page_of_their_own(rep_client: Client, world: World) -> None:
    response = rep_client.post(reverse("interactions:send_email", args=[world.lead.pk]), {"subject": "", "body": "Hi"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html and "This field is required." in html and ">\nHi</textarea>" in html


def test_email_and_whatsapp_posts(rep_client: Client, world: World) -> None:
    response = rep_client.post(reverse("interactions:send_email", args=[world.lead.pk]),
                               {"subject": "Proposal", "body": "Attached."}, headers=HTMX)  # fmt: skip
    assert "Email queued" in response.content.decode() and "sending" in response.content.decode()
    response = rep_client.post(
        reverse("interactions:log_whatsapp", args=[world.lead.pk]), {"text": "Hola Lola"}, headers=HTMX
    )
    assert "WhatsApp message logged." in response.content.decode()
    assert sorted(Interaction.objects.values_list("kind", flat=True)) == ["email", "whatsapp"]
    assert DomainEvent.objects.filter(type="interactions.InteractionLogged").count() == 2


def test_leads_without_email_or_phone_explain_why(rep_client: Client, world: World) -> None:
    bare = LeadFactory(owner=world.rep, email="", phone="600111222")
    html = rep_client.get(reverse("interactions:lead_panel", args=[bare.pk])).content.decode()
    assert "This lead has no email address" in html and "not an international number" in html
    assert "wa.me" not in html


def test_a_failed_email_can_be_sent_again(rep_client: Client, world: World) -> None:
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
    Interaction.objects.filter(pk=email.pk).update(delivery_status="failed", delivery_error="SMTPRecipientsRefused")
    html = rep_client.get(panel_url(world)).content.decode()
    assert "SMTPRecipientsRefused" in html and "Send again" in html
    response = rep_client.post(reverse("interactions:retry_email", args=[email.pk]), headers=HTMX)
    assert "Email queued again." in response.content.decode()
    assert Interaction.objects.get(pk=email.pk).delivery_status == "queued"


def test_the_timeline_renders_logged_interactions(rep_client: Client, world: World) -> None:
    services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="voicemail", duration_seconds=42,
                      notes="Left my number")  # fmt: skip
    services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Our proposal", body="Please find…")
    html = rep_client.get(reverse("leads:detail", args=[world.lead.pk])).content.decode()
    assert "<strong>Rita Rep</strong> called this lead" in html and "Left a voicemail" in html and "00:42" in html
    assert "<strong>Rita Rep</strong> emailed this lead" in html and "Our proposal" in html
    Interaction.objects.filter(kind="email").update(
        delivery_status="sending", claimed_at=clock.now() - timedelta(hours=1)
    )
    services.fail_interrupted_emails()
    html = rep_client.get(reverse("leads:detail", args=[world.lead.pk])).content.decode()
    assert "The email “Our proposal” to lola@acme.example could not be sent" in html


def test_the_page_of_its_own(rep_client: Client, world: World) -> None:
    response = rep_client.get(reverse("interactions:lead_page", args=[world.lead.pk]) + "?kind=whatsapp")
    assert response.status_code == 200 and 'data-ix-tabpanel="whatsapp">' in response.content.decode()


def test_a_panel_reloaded_right_after_a_log_keeps_its_confirmation_and_tab(rep_client: Client, world: World) -> None:
    # The lead page reloads the panel on "interactions-changed", replacing the POST's answer at once.
    rep_client.post(reverse("interactions:log_whatsapp", args=[world.lead.pk]), {"text": "Hola"}, headers=HTMX)
    html = rep_client.get(panel_url(world), headers=HTMX).content.decode()
    assert "WhatsApp message logged." in html and 'data-ix-tabpanel="whatsapp">' in html
    assert 'data-ix-tabpanel="email">' in rep_client.get(panel_url(world, kind="email")).content.decode()
    with time_machine.travel(clock.now() + timedelta(seconds=20), tick=False):
        html = rep_client.get(panel_url(world)).content.decode()
    assert "WhatsApp message logged." not in html and 'data-ix-tabpanel="call">' in html


def test_the_recent_list_polls_only_while_an_email_is_on_its_way(
    rep_client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
    recent_url = reverse("interactions:recent", args=[world.lead.pk])
    assert f'hx-get="{recent_url}" hx-trigger="every 4s"' in rep_client.get(panel_url(world)).content.decode()
    services.deliver_email(interaction_id=email.pk)
    with django_assert_max_num_queries(5):
        html = rep_client.get(recent_url, headers=HTMX).content.decode()
    assert "every 4s" not in html and ">sent</span>" in html and "<html" not in html
