"""A NUL character (U+0000) from any client: PostgreSQL's text and jsonb cannot hold it, and storing the raw
submission as sent failed (a 500, nothing kept). Each channel's real entry point now keeps the submission, and
the lead, without it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture import services
from embudo.capture.domain.raw import has_nul, without_nul
from embudo.capture.models import Submission
from embudo.capture.tests.test_whatsapp import SECRET, TOKEN, delivery, post, raw
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


def api_client() -> Client:
    _, token = account_services.create_api_token(user_email=UserFactory.create(role=Role.MARKETING).email, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_api_lead_with_nul_characters_is_stored_without_them() -> None:
    body = {"email": "nul@example.com", "first_name": "Ana\u0000", "city": "Ma\u0000drid"}
    response = api_client().post("/api/v1/leads", json.dumps(body), content_type="application/json",
                                 HTTP_USER_AGENT="bot\x00/1", HTTP_IDEMPOTENCY_KEY="k\u0000ey")  # fmt: skip

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert (lead.first_name, lead.city) == ("Ana", "Madrid")
    submission = Submission.objects.get()
    assert submission.payload["first_name"] == "Ana" and submission.user_agent == "bot/1"


def test_api_batch_with_nul_characters_keeps_every_item() -> None:
    items = [{"email": f"b{i}@example.com", "last_name": "Ruiz\u0000"} for i in range(3)]
    response = api_client().post("/api/v1/leads/batch", json.dumps({"items": items}), content_type="application/json")

    assert response.status_code == 200, response.content
    assert [item["status_code"] for item in response.json()["items"]] == [201, 201, 201]
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Ruiz"}


def test_whatsapp_delivery_with_a_nul_in_the_text_is_stored_and_processed(client: Client, settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN, settings.WHATSAPP_APP_SECRET = TOKEN, SECRET
    response = post(client, raw(delivery(text="Hola\u0000, ¿precio?")))

    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.payload["message"]["text"]["body"] == "Hola, ¿precio?"
    assert services.process_submission(submission.pk).created


def test_web_to_lead_post_with_an_encoded_nul_makes_its_lead(client: Client) -> None:
    response = client.post("/w2l/", "first_name=Jos%00e&last_name=Lopez&email=jl%40example.com",
                           content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert response.status_code == 200
    assert Lead.objects.get().first_name == "Jose"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from("ab\x00ñ😊")),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet=st.sampled_from("k\x00"), max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@given(json_values)
def test_without_nul_removes_every_nul_and_nothing_else(value: Any) -> None:
    cleaned = without_nul(value)
    assert not has_nul(cleaned)
    assert json.dumps(cleaned) == json.dumps(value).replace("\\u0000", "") or has_nul(value)
    if not has_nul(value):
        assert cleaned is value
