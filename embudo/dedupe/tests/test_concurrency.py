"""Simultaneous intake of one phone number (no email) makes one lead: the advisory lock on the phone."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture.models import Submission
from embudo.leads.models import Lead


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_of_one_phone_make_one_lead() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    _, token = account_services.create_api_token(user_email=user.email, name="race")
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def submit(i: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            response = client.post("/api/v1/leads", json.dumps({"phone": "+34 600 123 456", "first_name": f"R{i}"}),
                                   content_type="application/json")  # fmt: skip
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 200, 201]
    assert Lead.objects.filter(phone="+34600123456").count() == 1
    assert Submission.objects.filter(status="processed").count() == 4
