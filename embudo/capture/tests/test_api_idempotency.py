"""Idempotency-Key on POST /api/v1/leads and /leads/batch, through the real entry point: a key belongs to the API
user who sent it, replays only the same request (team and owner included), and a batch's items never meet a single
request's keys. Too long a key is a 422, never cut."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.capture import services
from embudo.capture.models import Submission
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

URL, BATCH = "/api/v1/leads", "/api/v1/leads/batch"


class Api:
    def __init__(self, user: User):
        self.user = user
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(self, body: Any, path: str = URL, key: str | None = None) -> Any:
        headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        return self.client.post(path, json.dumps(body), content_type="application/json", **headers)


def admin() -> Api:
    return Api(UserFactory.create(role=Role.ADMIN))


def test_another_clients_same_key_and_body_is_its_own_request_not_a_replay_of_the_first() -> None:
    alice, bob = admin(), Api(UserFactory.create(role=Role.MARKETING))
    body = {"email": "shared@example.com", "first_name": "Ana"}
    first = alice.post(body, key="order-1")

    second = bob.post(body, key="order-1")

    assert first.status_code == 201, first.content
    # Bob's request is processed as his own (merged into the lead with that email), not Alice's answer replayed.
    assert second.status_code == 200, second.content
    assert second.json()["submission_id"] != first.json()["submission_id"]
    assert second.json()["created"] is False
    assert set(Submission.objects.values_list("actor_id", flat=True)) == {alice.user.pk, bob.user.pk}
    # Each one's retry still replays their own first answer.
    assert alice.post(body, key="order-1").json() == first.json()
    assert bob.post(body, key="order-1").json() == second.json()
    assert Submission.objects.count() == 2


def test_another_clients_same_key_with_another_body_is_not_a_conflict() -> None:
    alice, bob = admin(), admin()
    alice.post({"email": "a@example.com"}, key="k")

    response = bob.post({"email": "b@example.com"}, key="k")

    assert response.status_code == 201, response.content
    assert Lead.objects.filter(email="b@example.com").exists()


@pytest.mark.parametrize("field", ["team_id", "owner_id"])
def test_the_same_key_with_another_team_or_owner_is_409(field: str) -> None:
    api = admin()
    one, two = TeamFactory.create(), TeamFactory.create()
    owners = UserFactory.create(role=Role.SALES_REP, teams=[one]), UserFactory.create(role=Role.SALES_REP, teams=[one])
    values = (one.pk, two.pk) if field == "team_id" else (owners[0].pk, owners[1].pk)
    body = {"email": "team@example.com", "team_id": one.pk}
    first = api.post({**body, field: values[0]}, key="with-team")
    before = (Lead.objects.count(), Submission.objects.count())

    again = api.post({**body, field: values[0]}, key="with-team")
    other = api.post({**body, field: values[1]}, key="with-team")
    without = api.post({"email": "team@example.com"}, key="with-team")

    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again.json() == first.json()
    assert other.status_code == 409, other.content
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["fields"] == {"Idempotency-Key": ["Already used with another body."]}
    assert without.status_code == 409
    assert (Lead.objects.count(), Submission.objects.count()) == before


def test_a_batch_item_never_replays_a_single_request_nor_the_reverse() -> None:
    api = admin()
    # Before, a batch's item 0 under key K was stored as "K:0": the key of a single request "K:0".
    single = api.post({"email": "single@example.com"}, key="K:0")
    batch = api.post({"items": [{"email": "item@example.com"}]}, path=BATCH, key="K")
    single_again = api.post({"email": "other-single@example.com"}, key="K#item:0")

    assert single.status_code == 201, single.content
    assert batch.status_code == 200, batch.content
    assert [i["status_code"] for i in batch.json()["items"]] == [201]
    assert single_again.status_code == 201, single_again.content
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "single@example.com",
        "item@example.com",
        "other-single@example.com",
    }
    # The batch replays itself.
    assert api.post({"items": [{"email": "item@example.com"}]}, path=BATCH, key="K").json() == batch.json()
    assert Submission.objects.count() == 3


def test_a_batch_item_with_another_team_is_409_for_that_item_only() -> None:
    api = admin()
    one, two = TeamFactory.create(), TeamFactory.create()
    items = [{"email": "i0@example.com", "team_id": one.pk}, {"email": "i1@example.com", "team_id": one.pk}]
    first = api.post({"items": items}, path=BATCH, key="b-1")

    again = api.post({"items": [items[0], {**items[1], "team_id": two.pk}]}, path=BATCH, key="b-1")

    assert [i["status_code"] for i in first.json()["items"]] == [201, 201]
    assert [i["status_code"] for i in again.json()["items"]] == [201, 409]
    assert again.json()["items"][1]["fields"] == {"Idempotency-Key": ["Already used with another body."]}
    assert Submission.objects.count() == 2


def test_another_clients_batch_with_the_same_key_is_processed_as_its_own() -> None:
    alice, bob = admin(), admin()
    items = [{"email": "x0@example.com"}, {"email": "x1@example.com"}]
    first = alice.post({"items": items}, path=BATCH, key="nightly")

    second = bob.post({"items": items}, path=BATCH, key="nightly")

    assert [i["status_code"] for i in second.json()["items"]] == [200, 200]
    assert {i["submission_id"] for i in second.json()["items"]}.isdisjoint(
        i["submission_id"] for i in first.json()["items"]
    )
    assert Submission.objects.filter(actor_id=bob.user.pk).count() == 2


@pytest.mark.parametrize("path", [URL, BATCH])
def test_a_key_of_200_characters_works_and_201_is_422_on_both_routes(path: str) -> None:
    api = admin()
    body: dict[str, Any] = {"email": "long@example.com"}
    if path == BATCH:
        body = {"items": [body, {"email": "long2@example.com"}]}
    key = "k" * 200

    first = api.post(body, path=path, key=key)
    again = api.post(body, path=path, key=key)
    too_long = api.post(body, path=path, key=key + "k")

    assert first.status_code in (200, 201), first.content
    assert again.json() == first.json()  # the whole key counts: stored in full (hashed when too long for the column)
    assert too_long.status_code == 422, too_long.content
    assert too_long.json()["fields"] == {"Idempotency-Key": ["At most 200 characters."]}
    assert Submission.objects.count() == (1 if path == URL else 2)
    # Never cut: two long keys that differ only at the end are two requests.
    other = api.post(body, path=path, key="k" * 199 + "x")
    assert other.json() != first.json()
    assert Submission.objects.count() == (2 if path == URL else 4)


def test_a_key_stored_before_the_upgrade_is_not_replayed_and_nothing_breaks() -> None:
    api = admin()
    body = {"email": "legacy@example.com"}
    meta = services.SubmissionMeta()
    # Stored the old way: the bare client key, no user namespace.
    legacy = services.capture(channel="api", payload=body, meta=meta, idempotency_key="legacy-1", actor_id=api.user.pk)

    response = api.post(body, key="legacy-1")

    assert response.status_code == 200, response.content  # processed anew: merged into the same lead
    assert response.json()["id"] == legacy.lead_id
    assert response.json()["submission_id"] != legacy.submission_id
    assert Submission.objects.count() == 2


def test_a_stored_key_equal_to_a_namespaced_one_from_another_user_is_409_not_their_answer() -> None:
    api, other = admin(), UserFactory.create(role=Role.ADMIN)
    body = {"email": "clash@example.com"}
    # An old bare key that happens to read like this user's namespaced key, sent by someone else.
    services.capture(
        channel="api", payload=body, meta=services.SubmissionMeta(), idempotency_key=f"u{api.user.pk}:abc",
        actor_id=other.pk,
    )  # fmt: skip

    response = api.post(body, key="abc")

    assert response.status_code == 409, response.content
    assert "id" not in response.json()
    assert Submission.objects.count() == 1
