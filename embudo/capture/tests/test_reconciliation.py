"""The intake reconciliation page, submission detail, replay button and WhatsApp channels page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from embudo.accounts.tests.factories import UserFactory
from embudo.capture import mapping, services
from embudo.capture.models import Submission, WhatsAppChannel
from embudo.core import clock

pytestmark = pytest.mark.django_db

URL = "/capture/intake/"


def _boom(payload: Any) -> mapping.LeadInput:
    raise RuntimeError("mapper exploded")


def make_intake(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """One submission of each kind: created, merged, rejected, quarantined, pending, failed."""
    meta = services.SubmissionMeta()
    ids = {
        "created": services.capture(channel="api", payload={"email": "ana@example.es"}, meta=meta).submission_id,
        "merged": services.capture(channel="api", payload={"email": "ANA@example.es"}, meta=meta).submission_id,
        "rejected": services.capture(channel="api", payload={"email": "not an email"}, meta=meta).submission_id,
        "quarantined": services.capture(
            channel="api",
            payload={"email": "bot@example.es"},
            meta=meta,
            context=services.ProcessingContext(quarantine_reason="honeypot"),
        ).submission_id,  # fmt: skip
        "pending": services.receive_submission(channel="api", payload={"email": "p@example.es"}, meta=meta)[0].pk,
    }
    with monkeypatch.context() as patch:
        patch.setitem(mapping.MAPPERS, "api", _boom)
        ids["failed"] = services.capture(channel="api", payload={"email": "f@example.es"}, meta=meta).submission_id
    return ids


def login(client: Client, role: str) -> None:
    client.force_login(UserFactory(role=role))


@pytest.mark.parametrize("role", ["admin", "marketing"])
def test_admin_and_marketing_see_the_reconciliation(client: Client, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_intake(monkeypatch)
    login(client, role)

    response = client.get(URL, {"period": "today"})

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.received, report.created, report.merged, report.rejected, report.quarantined, report.pending,
            report.failed, report.unexplained) == (6, 1, 1, 1, 1, 1, 1, 0)  # fmt: skip
    assert report.rejected_reasons == {"invalid": 1}
    page = response.content.decode()
    assert "Received 6" in page
    assert "Unexplained: 0" in page
    assert "honeypot" in page
    assert page.count('id="submission-') == 3  # failed, pending and quarantined listed


@pytest.mark.parametrize("role", ["sales_rep", "manager"])
def test_other_roles_are_forbidden(client: Client, role: str) -> None:
    login(client, role)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"]


def test_period_filters_older_submissions(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    make_intake(monkeypatch)
    Submission.objects.filter(status="rejected").update(received_at=clock.now() - timedelta(days=10))
    login(client, "marketing")

    assert client.get(URL, {"period": "7d"}).context["report"].received == 5
    assert client.get(URL, {"period": "30d"}).context["report"].received == 6
    assert client.get(URL, {"since": "24h"}).context["report"].received == 5
    assert client.get(URL, {"period": "all"}).context["report"].received == 6
    assert client.get(URL, {"since": "nonsense"}).status_code == 200


def test_unexplained_submissions_show_in_red(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    Submission.objects.filter(pk=ids["created"]).update(lead_id=999_999_999)  # a lead that does not exist
    login(client, "admin")

    response = client.get(URL)

    assert response.context["report"].unexplained == 1
    assert 'class="alert alert--error"' in response.content.decode()


def test_replay_button_turns_a_failed_submission_into_a_lead(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    login(client, "marketing")

    response = client.post(f"/capture/submissions/{ids['failed']}/replay/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith('<tr id="submission-')
    assert "Processed" in row
    submission = Submission.objects.get(pk=ids["failed"])
    assert (submission.status, submission.outcome) == ("processed", "created")


def test_replay_without_htmx_redirects_to_the_detail(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    login(client, "admin")

    response = client.post(f"/capture/submissions/{ids['pending']}/replay/")

    assert response.status_code == 302
    assert Submission.objects.get(pk=ids["pending"]).status == "processed"


def test_replay_needs_post_and_the_right_role(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    login(client, "sales_rep")
    assert client.post(f"/capture/submissions/{ids['failed']}/replay/").status_code == 403
    login(client, "admin")
    assert client.get(f"/capture/submissions/{ids['failed']}/replay/").status_code == 405
    assert Submission.objects.get(pk=ids["failed"]).status == "failed"


def test_submission_detail_shows_escaped_payload_error_and_lead(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_intake(monkeypatch)
    meta = services.SubmissionMeta(headers={"user-agent": "<b>bot</b>"})
    payload = {"email": "x@example.es", "first_name": "<script>alert(1)</script>", "message": "¿Qué tal? 😊"}
    hostile = services.capture(channel="api", payload=payload, meta=meta)
    login(client, "admin")

    page = client.get(f"/capture/submissions/{hostile.submission_id}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "¿Qué tal? 😊" in page
    assert "&lt;b&gt;bot&lt;/b&gt;" in page
    failed = client.get(f"/capture/submissions/{ids['failed']}/").content.decode()
    assert "mapper exploded" in failed
    created = client.get(f"/capture/submissions/{ids['created']}/").content.decode()
    assert f'href="/leads/{Submission.objects.get(pk=ids["created"]).lead_id}/"' in created
    assert client.get("/capture/submissions/999999/").status_code == 404


def test_admin_adds_and_edits_a_whatsapp_channel(client: Client) -> None:
    login(client, "admin")
    data = {"name": "Ventas MX", "phone_number_id": "1098", "display_phone": "+52 55 1234 5678",
            "verify_token": "tok", "app_secret": "s3cret", "default_region": "mx", "active": "on"}  # fmt: skip

    assert client.post("/capture/whatsapp/new/", data).status_code == 302
    channel = WhatsAppChannel.objects.get()
    assert (channel.app_secret, channel.default_region) == ("s3cret", "MX")

    page = client.get("/capture/whatsapp/").content.decode()
    assert "Ventas MX" in page
    assert "s3cret" not in client.get(f"/capture/whatsapp/{channel.pk}/").content.decode()
    assert (
        client.post(f"/capture/whatsapp/{channel.pk}/", {**data, "name": "Ventas", "app_secret": ""}).status_code == 302
    )
    channel.refresh_from_db()
    assert (channel.name, channel.app_secret) == ("Ventas", "s3cret")


def test_whatsapp_channels_are_admin_only(client: Client) -> None:
    login(client, "marketing")
    assert client.get("/capture/whatsapp/").status_code == 403
    assert client.post("/capture/whatsapp/new/", {"name": "x"}).status_code == 403
