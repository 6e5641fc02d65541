"""The bell, the list, preferences and team webhooks through the HTML views."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.notifications import services
from embudo.notifications.models import Notification, NotificationPreference, TeamWebhook
from embudo.notifications.tests.support import http_endpoint

pytestmark = pytest.mark.django_db


def test_bell_shows_the_unread_count_with_one_query(client: Client, django_assert_max_num_queries: Any) -> None:
    rep = UserFactory.create()
    services.notify(user_id=rep.pk, kind="lead_hot", title="a")
    services.notify(user_id=rep.pk, kind="lead_hot", title="b")
    client.force_login(rep)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'data-unread="2"' in page and "Notifications, 2 unread" in page
    with django_assert_max_num_queries(3):  # session, user, COUNT
        unchanged = client.get("/notifications/bell/?n=2")
    assert unchanged.status_code == 204
    services.notify(user_id=rep.pk, kind="lead_hot", title="c")
    changed = client.get("/notifications/bell/?n=2", headers={"HX-Request": "true"})
    assert changed.status_code == 200 and 'data-unread="3"' in changed.content.decode()


def test_bell_is_absent_for_anonymous_pages_and_stops_polling(client: Client) -> None:
    login = client.get("/accounts/login/").content.decode()
    assert "notification-bell" not in login
    assert client.get("/notifications/bell/?n=0").status_code == 286


def test_list_open_and_mark_all_read(client: Client) -> None:
    rep = UserFactory.create()
    nid = services.notify(user_id=rep.pk, kind="lead_assigned", title="New lead: Ana", lead_id=7, url="/leads/7/")
    services.notify(user_id=rep.pk, kind="lead_hot", title="Ana is hot", url="https://evil.example/")
    client.force_login(rep)
    body = client.get("/notifications/").content.decode()
    assert "New lead: Ana" in body and "Mark all as read" in body
    opened = client.get(f"/notifications/{nid}/open/")
    assert opened.status_code == 302 and opened["Location"] == "/leads/7/"
    evil = Notification.objects.get(title="Ana is hot")
    assert client.get(f"/notifications/{evil.pk}/open/")["Location"] == "/notifications/"  # no open redirect
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_someone_elses_notification_is_404(client: Client) -> None:
    nid = services.notify(user_id=UserFactory.create().pk, kind="lead_hot", title="x")
    client.force_login(UserFactory.create())
    assert client.post(f"/notifications/{nid}/read/").status_code == 404


def test_preferences_page_saves_choices(client: Client) -> None:
    rep = UserFactory.create()
    client.force_login(rep)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="lead_assigned-email" checked' in page
    client.post("/notifications/preferences/", {"lead_assigned-in_app": "on", "lead_hot-email": "on"})
    prefs = {p.kind: (p.in_app, p.email) for p in NotificationPreference.objects.filter(user=rep)}
    assert prefs["lead_assigned"] == (True, False)
    assert prefs["lead_hot"] == (False, True)


def test_manager_adds_and_tests_a_team_webhook(client: Client) -> None:
    team = TeamFactory.create(name="Iberia")
    manager = UserFactory.create(role=Role.MANAGER, teams=[team])
    client.force_login(manager)
    with http_endpoint() as endpoint:
        response = client.post("/notifications/webhooks/", {"team_id": team.pk, "name": "Slack #iberia",
                                                            "url": endpoint.url, "active": "on"})  # fmt: skip
        assert response.status_code == 302
        webhook = TeamWebhook.objects.get()
        client.post(f"/notifications/webhooks/{webhook.pk}/test/")
    assert endpoint.requests[0]["json"]["embudo"]["kind"] == "test"
    page = client.get("/notifications/webhooks/").content.decode()
    assert "Slack #iberia" in page and "HTTP 200" in page and webhook.secret in page


def test_reps_cannot_manage_webhooks(client: Client) -> None:
    client.force_login(UserFactory.create(role=Role.SALES_REP))
    assert client.get("/notifications/webhooks/").status_code == 403
