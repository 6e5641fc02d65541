"""How large a body the capture API takes, through the real entry point: a full batch of 1,000 leads is accepted
(above Django's 2.5 MB default, which every other view keeps), and a body above a route's limit is a JSON 413 in
the API's error format, not Django's 400 page."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from annotated_types import MaxLen
from django.conf import settings
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture.models import Submission
from embudo.capture.schemas import BATCH_MAX_BODY_BYTES, BATCH_MAX_ITEMS, CaptureIn, ConsentIn
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

URL, BATCH = "/api/v1/leads", "/api/v1/leads/batch"


def client() -> Client:
    _, token = account_services.create_api_token(user_email=UserFactory.create(role=Role.ADMIN).email, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(api: Client, data: str, path: str = BATCH) -> Any:
    return api.post(path, data, content_type="application/json")


def assert_too_large(response: Any, limit: int) -> None:
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "code": "request_too_large",
        "message": "The request body is too large.",
        "fields": {"body": [f"At most {limit:,} bytes."]},
    }


def test_a_full_batch_of_1000_leads_with_long_messages_is_accepted() -> None:
    items = [{"email": f"lead{i}@example.com", "first_name": f"Lead {i}", "message": "m" * 3000} for i in range(1000)]
    data = json.dumps({"items": items})
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # what Django's default would refuse

    response = post(client(), data)

    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 1000
    assert Lead.objects.count() == 1000 and Submission.objects.count() == 1000


def _max_length(annotation_owner: type[Any], name: str) -> int:
    return next(m.max_length for m in annotation_owner.model_fields[name].metadata if isinstance(m, MaxLen))


def test_the_batch_limit_holds_1000_items_with_every_text_field_at_its_maximum() -> None:
    """The limit follows from the schema: every text field of a lead at its maximum length and a consent with its
    longest text, in Spanish (one letter in ten accented, 2 bytes in UTF-8)."""
    text = "Canción de otoño para más clientes en España " * 200
    item: dict[str, Any] = {}
    for name, field in CaptureIn.model_fields.items():
        if str in typing.get_args(field.annotation):
            item[name] = text[: _max_length(CaptureIn, name)]
    consent = {name: text[: _max_length(ConsentIn, name)] for name in ("purpose", "text", "text_version", "language")}
    item["consents"] = [consent]
    size = len(json.dumps({"items": [item] * BATCH_MAX_ITEMS}, ensure_ascii=False).encode())

    assert size < BATCH_MAX_BODY_BYTES


def test_a_batch_above_its_limit_is_a_json_413_and_stores_nothing() -> None:
    data = json.dumps({"items": [{"email": "big@example.com", "message": "x" * BATCH_MAX_BODY_BYTES}]})

    response = post(client(), data)

    assert_too_large(response, BATCH_MAX_BODY_BYTES)
    assert Submission.objects.count() == 0


def test_a_single_lead_above_djangos_limit_is_a_json_413() -> None:
    data = json.dumps({"email": "big@example.com", "message": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = post(client(), data, path=URL)

    assert_too_large(response, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    assert Submission.objects.count() == 0


def test_a_large_batch_without_a_valid_token_is_401_and_not_read() -> None:
    data = json.dumps({"items": [{"email": "x@example.com", "message": "x" * 3000}] * 1000})

    response = post(Client(HTTP_AUTHORIZATION="Bearer nope"), data)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert Submission.objects.count() == 0


def test_other_views_keep_djangos_limit(settings: Any) -> None:
    """Only the batch route reads more: a large body elsewhere in the API is still refused."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    api = client()
    small_batch = json.dumps({"items": [{"email": f"s{i}@example.com", "message": "m" * 3000} for i in range(5)]})

    assert post(api, small_batch).status_code == 200
    assert_too_large(post(api, json.dumps({"email": "one@example.com", "message": "m" * 12_000}), path=URL), 10_000)


def test_other_api_routes_answer_a_too_large_body_with_a_json_413(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    _, token = account_services.create_api_token(user_email=UserFactory.create(role=Role.ADMIN).email, name="t")
    body = '{"events": [' + ",".join('{"type": "page_view", "email": "a@example.com"}' for _ in range(50)) + "]}"
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post("/api/v1/events", body,
                                                                 content_type="application/json")  # fmt: skip
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "request_too_large"
