"""Salesforce Web-to-Lead compatible endpoint, through the Django test client."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.capture.models import LeadAttribution, Submission
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
    assert lead_input.fields["company_domain"] == "empresa.es"
    assert lead_input.custom_fields == {"00N5e00000ABCDE": "Premium"}
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


def test_mapper_reads_the_picklist_codes_when_no_names_are_given() -> None:
    lead_input = map_w2l({"email": "a@b.es", "country_code": "MX", "state_code": "JAL"})
    assert (lead_input.fields["country"], lead_input.fields["region"]) == ("MX", "JAL")
    named = map_w2l({"email": "a@b.es", "country": "España", "country_code": "ES"})
    assert named.fields["country"] == "España"


def test_w2l_with_state_and_country_codes_and_the_form_page_as_landing(client: Client) -> None:
    page = "https://www.cliente.es/contacto?utm_source=google&utm_medium=cpc&utm_campaign=otono"
    client.post("/w2l/", {**SALESFORCE_POST, "country": "", "country_code": "ES", "state_code": "M"},
                HTTP_REFERER=page)  # fmt: skip

    lead = Lead.objects.get()
    assert (lead.country, lead.region) == ("ES", "M")
    touch = LeadAttribution.objects.get(lead_id=lead.pk)
    assert (touch.first_source, touch.first_medium, touch.first_campaign) == ("google", "cpc", "otono")
    assert (touch.first_landing_page, touch.first_referrer) == (page, "")


def test_w2l_reads_an_iso_8859_1_post_by_its_encoding_field(client: Client) -> None:
    body = "encoding=ISO-8859-1&first_name=Jos%E9&last_name=Garc%EDa&email=jg%40example.com&city=C%E1diz"
    client.post("/w2l/", body, content_type="application/x-www-form-urlencoded")

    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.city) == ("José", "García", "Cádiz")


def test_w2l_keeps_every_value_of_a_multi_select_picklist(client: Client) -> None:
    client.post("/w2l/", "email=m%40example.com&00N1=Red&00N1=Blue", content_type="application/x-www-form-urlencoded")
    assert Lead.objects.get().custom_fields["00N1"] == "Red;Blue"


def test_w2l_returns_to_the_site_that_posted_the_form_without_any_set_up(client: Client) -> None:
    post = {**SALESFORCE_POST, "retURL": "https://www.cliente.es/gracias"}
    response = client.post("/w2l/", post, HTTP_REFERER="https://www.cliente.es/contacto")
    assert response.status_code == 302 and response["Location"] == "https://www.cliente.es/gracias"
    # Another site than the one that posted (and not allow-listed): the thank-you page, no redirect.
    response = client.post("/w2l/", {**post, "retURL": "https://evil.example.net/"},
                           HTTP_ORIGIN="https://www.cliente.es")  # fmt: skip
    assert response.status_code == 200
