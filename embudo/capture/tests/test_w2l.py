"""Salesforce Web-to-Lead compatible endpoint, through the Django test client."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.capture.models import Submission
from embudo.capture.tests.forms_helpers import make_form
from embudo.capture.w2l import map_w2l
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

SALESFORCE_POST = {
    "oid": "00D000000000001",
    "retURL": "https://www.example.com/gracias",
    "first_name": "josé",
    "last_name": "garcía",
    "email": "Jose@Empresa.es",
    "company": "Empresa SL",
    "phone": "612 345 678",
    "title": "Director",
    "city": "Madrid",
    "country": "España",
    "lead_source": "Web",
    "description": "Quiero una demo",
    "00N5e00000ABCDE": "Premium",
}


def test_mapper_uses_salesforce_names_and_custom_field_ids() -> None:
    lead_input = map_w2l({**SALESFORCE_POST, "mobile": "600 000 000", "phone": "", "URL": "empresa.es"})
    assert lead_input.fields["company_name"] == "Empresa SL"
    assert lead_input.fields["job_title"] == "Director"
    assert lead_input.fields["phone"] == "600 000 000"
    assert lead_input.custom_fields == {"00N5e00000ABCDE": "Premium", "website": "empresa.es"}
    assert lead_input.source == "Web" and lead_input.message == "Quiero una demo"
    assert "oid" not in lead_input.fields and "oid" not in lead_input.custom_fields


def test_w2l_post_creates_lead_and_redirects_to_allowed_return_url(client: Client) -> None:
    make_form(allowed_hosts="www.example.com")
    response = client.post("/w2l/", SALESFORCE_POST)
    assert response.status_code == 302 and response["Location"] == "https://www.example.com/gracias"
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name) == ("jose@empresa.es", "José", "García")
    assert lead.phone == "+34612345678" and lead.country == "ES"
    assert lead.custom_fields["00N5e00000ABCDE"] == "Premium"
    assert Submission.objects.get().channel == "w2l"


def test_w2l_refuses_open_redirect_and_shows_thanks(client: Client) -> None:
    response = client.post("/w2l/", {**SALESFORCE_POST, "retURL": "https://evil.example.net/"},
                           HTTP_ACCEPT_LANGUAGE="es")  # fmt: skip
    assert response.status_code == 200
    assert "Gracias" in response.content.decode()


def test_w2l_double_submit_creates_one_lead(client: Client) -> None:
    client.post("/w2l/", SALESFORCE_POST)
    client.post("/w2l/", SALESFORCE_POST)
    assert Submission.objects.count() == 1
    client.post("/w2l/", {**SALESFORCE_POST, "description": "Otra vez"})  # a later, different post merges
    assert Lead.objects.count() == 1
    assert list(Submission.objects.order_by("id").values_list("outcome", flat=True)) == ["created", "merged"]


def test_w2l_honeypot_is_quarantined(client: Client) -> None:
    response = client.post("/w2l/", {**SALESFORCE_POST, "website_url": "x", "retURL": ""})
    assert response.status_code == 200
    assert Submission.objects.get().status == "quarantined"
    assert not Lead.objects.exists()


def test_w2l_is_csrf_exempt_and_post_only() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/w2l/", {"email": "a@example.com", "last_name": "A"}).status_code == 200
    assert client.get("/w2l/").status_code == 405
