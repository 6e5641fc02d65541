"""The form builder UI: permissions, creating and editing forms with their fields."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture.models import Form, Submission
from embudo.capture.tests.forms_helpers import make_form

pytestmark = pytest.mark.django_db


def _client(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role, language="en"))
    return client


def _post(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Demo request", "slug": "demo", "team": "", "source": "website", "default_language": "es",
        "default_region": "es", "consent_required": "on", "consent_purpose": "marketing_email",
        "consent_text_en": "I agree.", "consent_text_es": "Acepto.", "consent_version": "1",
        "thank_you_en": "Thanks", "thank_you_es": "Gracias", "redirect_url": "", "allowed_hosts": "www.example.com",
        "progressive_profiling": "on", "min_fill_seconds": "3", "max_per_ip_per_hour": "20",
        "max_per_hour": "5000", "active": "on",
        "fields-TOTAL_FORMS": "2", "fields-INITIAL_FORMS": "0", "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
        "fields-0-name": "email", "fields-0-type": "email", "fields-0-required": "on", "fields-0-label_en": "Email",
        "fields-0-label_es": "Correo", "fields-0-maps_to": "email", "fields-0-ORDER": "2",
        "fields-1-name": "plan", "fields-1-type": "select", "fields-1-label_en": "Plan", "fields-1-label_es": "Plan",
        "fields-1-options": "Basic\nPro", "fields-1-maps_to": "custom:plan", "fields-1-ORDER": "1",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_sales_reps_see_the_list_but_cannot_edit() -> None:
    form = make_form()
    Submission.objects.create(channel="form", received_at=form.created_at, form_id=form.pk)
    client = _client(Role.SALES_REP)
    page = client.get("/capture/forms/")
    assert page.status_code == 200 and b"Contact" in page.content and b"New form" not in page.content
    assert client.get("/capture/forms/new/").status_code == 403
    assert client.post(f"/capture/forms/{form.pk}/", _post()).status_code == 403
    assert Client().get("/capture/forms/").status_code == 302  # login required


def test_marketing_creates_a_form_with_ordered_fields() -> None:
    client = _client(Role.MARKETING)
    assert client.get("/capture/forms/new/").status_code == 200
    response = client.post("/capture/forms/new/", _post())
    form = Form.objects.get(slug="demo")
    assert response.status_code == 302 and response["Location"] == f"/capture/forms/{form.pk}/"
    assert [f["name"] for f in form.fields] == ["plan", "email"]
    assert form.fields[0]["options"] == ["Basic", "Pro"] and form.fields[0]["maps_to"] == "custom:plan"
    assert form.default_region == "ES"
    assert client.get(f"/capture/forms/{form.pk}/embed/").status_code == 200
    preview = client.get(f"/capture/forms/{form.pk}/preview/?lang=es")
    assert b"Correo" in preview.content


def test_admin_edits_removes_a_field_and_sees_validation_errors() -> None:
    form = make_form()
    client = _client(Role.ADMIN)
    page = client.get(f"/capture/forms/{form.pk}/")
    assert page.status_code == 200 and b"first_name" in page.content
    response = client.post(f"/capture/forms/{form.pk}/", _post(slug="contact", **{"fields-1-DELETE": "on"}))
    assert response.status_code == 302
    form.refresh_from_db()
    assert [f["name"] for f in form.fields] == ["email"]
    bad = client.post(f"/capture/forms/{form.pk}/", _post(slug="contact", redirect_url="https://evil.example.net/",
                                                          **{"fields-1-name": "email"}))  # fmt: skip
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "Add the redirect&#x27;s host to the allowed hosts." in body and "Two fields are named email." in body


def test_add_field_button_adds_an_empty_row_without_saving() -> None:
    client = _client(Role.ADMIN)
    response = client.post("/capture/forms/new/", _post(add_field="1"))
    assert response.status_code == 200
    assert b'name="fields-2-name"' in response.content
    assert not Form.objects.exists()


def test_changing_the_consent_text_needs_a_new_version() -> None:
    form = make_form(consent_text_en="I agree.\nTo receive emails.")  # consent version v2
    client = _client(Role.ADMIN)
    base = {"slug": "contact", "consent_text_en": form.consent_text_en, "consent_text_es": form.consent_text_es}
    # Saving the same texts again (a browser sends CRLF line endings) needs no new version.
    same = {**base, "consent_text_en": "I agree.\r\nTo receive emails.\r\n"}
    assert client.post(f"/capture/forms/{form.pk}/", _post(**same, consent_version="v2")).status_code == 302
    form.refresh_from_db()

    for changed in ({"consent_text_en": "I agree to emails and calls."}, {"consent_text_es": "Acepto todo."}):
        response = client.post(f"/capture/forms/{form.pk}/", _post(**{**base, **changed}, consent_version="v2"))
        assert response.status_code == 200
        assert "The consent text changed: give it a new version (the current one is v2)." in response.content.decode()
        form.refresh_from_db()
        assert form.consent_text_es == base["consent_text_es"] and "calls" not in form.consent_text_en

    saved = client.post(f"/capture/forms/{form.pk}/", _post(**{**base, "consent_text_es": "Acepto todo."},
                                                            consent_version="v3"))  # fmt: skip
    assert saved.status_code == 302
    form.refresh_from_db()
    assert (form.consent_text_es, form.consent_version) == ("Acepto todo.", "v3")


def test_a_form_that_cannot_create_a_lead_is_not_saved() -> None:
    client = _client(Role.MARKETING)
    only_custom = _post(**{"fields-0-name": "notes", "fields-0-type": "text", "fields-0-maps_to": "custom:notes"})
    response = client.post("/capture/forms/new/", only_custom)
    assert response.status_code == 200
    assert (
        "Add a field that saves to the email, the phone or a name: without one no lead can be created."
        in response.content.decode()
    )
    checkbox = _post(**{"fields-1-type": "checkbox", "fields-1-options": "", "fields-1-maps_to": "first_name"})
    response = client.post("/capture/forms/new/", checkbox)
    assert response.status_code == 200
    assert "A checkbox is yes or no: save it to a custom field (custom:key)." in response.content.decode()
    assert not Form.objects.exists()

    phone_only = _post(**{
        "fields-0-name": "mobile", "fields-0-type": "tel", "fields-0-maps_to": "phone",
        "fields-1-type": "checkbox", "fields-1-options": "", "fields-1-maps_to": "custom:newsletter",
    })  # fmt: skip
    assert client.post("/capture/forms/new/", phone_only).status_code == 302
