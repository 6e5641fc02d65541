"""notify(): in-app row + email/webhook jobs in the caller's transaction; email over real SMTP; webhooks
signed, with a timeout and retries."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.notifications import domain, services, tasks
from embudo.notifications.exceptions import InvalidWebhook, NotAllowed, WebhookDeliveryFailed
from embudo.notifications.models import Notification, TeamWebhook
from embudo.notifications.tests.support import http_endpoint, smtp_server

pytestmark = pytest.mark.django_db


def jobs(name: str) -> list[dict[str, Any]]:
    return [job.args for job in ProcrastinateJob.objects.filter(task_name=name).order_by("id")]


def test_notify_writes_the_row_and_defers_email_and_webhook_jobs() -> None:
    team = TeamFactory.create()
    rep = UserFactory.create(teams=[team])
    webhook = TeamWebhook.objects.create(team=team, name="Slack", url="https://hooks.example/x", secret="s")
    TeamWebhook.objects.create(team=team, name="SLA only", url="https://hooks.example/y", secret="s",
                               kinds=["sla_breached"])  # fmt: skip

    nid = services.notify(user_id=rep.pk, kind="lead_assigned", title="New lead: Ana", body="From Spain",
                          lead_id=42, url="/leads/42/", team_id=team.pk)  # fmt: skip

    assert nid is not None
    n = Notification.objects.get(pk=nid)
    assert (n.user_id, n.kind, n.title, n.lead_id, n.url, n.read_at) == (rep.pk, "lead_assigned", "New lead: Ana",
                                                                          42, "/leads/42/", None)  # fmt: skip
    assert jobs("notifications.send_email") == [
        {
            "user_id": rep.pk,
            "kind": "lead_assigned",
            "title": "New lead: Ana",
            "body": "From Spain",
            "url": "/leads/42/",
        }
    ]
    [webhook_job] = jobs("notifications.post_webhook")
    assert webhook_job["webhook_id"] == webhook.pk
    assert webhook_job["payload"]["embudo"]["url"].endswith("/leads/42/")


def test_notify_rolls_back_with_the_caller() -> None:
    rep = UserFactory.create()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify(user_id=rep.pk, kind="lead_assigned", title="x", lead_id=1)
        raise RuntimeError("boom")
    assert not Notification.objects.exists()
    assert not ProcrastinateJob.objects.exists()


def test_preferences_mute_in_app_and_email() -> None:
    rep = UserFactory.create()
    services.set_preferences(user=rep, preferences={"lead_assigned": domain.Channels(in_app=False, email=False),
                                                    "lead_hot": domain.Channels(in_app=True, email=True)})  # fmt: skip
    assert services.notify(user_id=rep.pk, kind="lead_assigned", title="muted") is None
    assert not Notification.objects.exists() and not jobs("notifications.send_email")
    assert services.notify(user_id=rep.pk, kind="lead_hot", title="hot") is not None
    assert len(jobs("notifications.send_email")) == 1


def test_a_recipient_read_by_the_caller_is_the_one_notify_would_read(django_assert_num_queries: Any) -> None:
    """Routing joins the preferences into its pool snapshot (``recipient_from_row``) and passes them in."""
    from embudo.notifications import selectors

    rep = UserFactory.create(language="es")
    services.set_preferences(user=rep, preferences={"lead_assigned": domain.Channels(in_app=True, email=False)})
    saved = selectors.recipient_from_row("lead_assigned", "es", True, False)
    default = selectors.recipient_from_row("lead_hot", "es", None, None)
    assert saved == selectors.get_recipient(rep.pk, "lead_assigned") == (domain.Channels(True, False), "es")
    assert default == selectors.get_recipient(rep.pk, "lead_hot")
    with django_assert_num_queries(1):  # the insert; no preference query
        services.notify(user_id=rep.pk, kind="lead_assigned", title="t", recipient=saved)
    assert not jobs("notifications.send_email")


def test_default_kinds_without_email_do_not_email() -> None:
    rep = UserFactory.create()
    services.notify(user_id=rep.pk, kind="lead_hot", title="hot")
    assert Notification.objects.count() == 1 and not jobs("notifications.send_email")


def test_notify_costs_few_queries(django_assert_max_num_queries: Any) -> None:
    team = TeamFactory.create()
    rep = UserFactory.create(teams=[team])
    TeamWebhook.objects.create(team=team, name="Slack", url="https://hooks.example/x", secret="s")
    # preference, insert, email job, webhook lookup, webhook job (+ routing's speed mark when it exists)
    with django_assert_max_num_queries(7):
        services.notify(user_id=rep.pk, kind="lead_assigned", title="t", team_id=team.pk, lead_id=None)


def test_mark_read_and_all_read() -> None:
    rep = UserFactory.create()
    other = UserFactory.create()
    a = services.notify(user_id=rep.pk, kind="lead_hot", title="a")
    services.notify(user_id=rep.pk, kind="lead_hot", title="b")
    services.notify(user_id=other.pk, kind="lead_hot", title="c")
    assert a is not None
    first = services.mark_read(user=rep, notification_id=a).read_at
    assert services.mark_read(user=rep, notification_id=a).read_at == first
    assert services.mark_all_read(user=rep) == 1
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # the other user's


def test_email_goes_through_a_real_smtp_server_in_the_users_language(settings: Any) -> None:
    rep = UserFactory.create(email="rosa@example.es", language="es")
    with smtp_server() as mailbox:
        settings.EMAIL_PORT = mailbox.port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.BASE_URL = "https://leads.example.com"
        assert services.send_email(user_id=rep.pk, kind="lead_assigned", title="Ana", body="", url="/leads/7/")
    [message] = mailbox.messages
    assert message["To"] == "rosa@example.es"
    assert message["Subject"] == "[Embudo] Ana"
    text = message.get_content()
    assert "https://leads.example.com/leads/7/" in text
    assert "https://leads.example.com/notifications/preferences/" in text


def test_email_skips_inactive_users() -> None:
    rep = UserFactory.create(is_active=False)
    assert not services.send_email(user_id=rep.pk, kind="lead_assigned", title="x", body="", url="")
    assert mail.outbox == []


def test_webhook_posts_signed_json(settings: Any) -> None:
    team = TeamFactory.create()
    with http_endpoint() as endpoint:
        webhook = TeamWebhook.objects.create(team=team, name="Slack", url=endpoint.url, secret="sekret")
        payload = domain.webhook_payload(kind="lead_assigned", title="New lead", body="", lead_id=1, url="",
                                         team_id=team.pk, sent_at="t")  # fmt: skip
        tasks.post_webhook(webhook_id=webhook.pk, payload=payload)
    [request] = endpoint.requests
    assert request["json"] == payload
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert domain.verify("sekret", headers["x-embudo-timestamp"], request["raw"], headers["x-embudo-signature"])
    webhook.refresh_from_db()
    assert webhook.last_status == "HTTP 200"


def test_webhook_failure_raises_for_retry_then_succeeds() -> None:
    team = TeamFactory.create()
    with http_endpoint(statuses=[503]) as endpoint:
        webhook = TeamWebhook.objects.create(team=team, name="Teams", url=endpoint.url, secret="s")
        with pytest.raises(WebhookDeliveryFailed):
            services.deliver_webhook(webhook_id=webhook.pk, payload={"text": "x"})
        assert services.deliver_webhook(webhook_id=webhook.pk, payload={"text": "x"}).ok
    assert len(endpoint.requests) == 2
    assert tasks.post_webhook.retry_strategy is tasks.WEBHOOK_RETRY and tasks.WEBHOOK_RETRY.max_attempts == 6


def test_webhook_times_out(settings: Any) -> None:
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT = 0.3
    team = TeamFactory.create()
    with http_endpoint(delay=1.5) as endpoint:
        webhook = TeamWebhook.objects.create(team=team, name="Slow", url=endpoint.url, secret="s")
        with pytest.raises(WebhookDeliveryFailed, match="Timeout|timed out"):
            services.deliver_webhook(webhook_id=webhook.pk, payload={"text": "x"})


def test_unreachable_webhook_fails_without_raising_into_notify() -> None:
    team = TeamFactory.create()
    rep = UserFactory.create(teams=[team])
    TeamWebhook.objects.create(team=team, name="Down", url="http://127.0.0.1:9/", secret="s")
    assert services.notify(user_id=rep.pk, kind="lead_hot", title="x", team_id=team.pk) is not None


def test_only_managers_of_the_team_manage_its_webhooks() -> None:
    team, other = TeamFactory.create(), TeamFactory.create()
    manager = UserFactory.create(role=Role.MANAGER, teams=[team])
    rep = UserFactory.create(role=Role.SALES_REP, teams=[team])
    with pytest.raises(NotAllowed):
        services.create_webhook(actor=rep, team_id=team.pk, name="x", url="https://h.example/")
    with pytest.raises(InvalidWebhook) as exc:
        services.create_webhook(actor=manager, team_id=other.pk, name="", url="ftp://x", kinds=["nope"])
    assert set(exc.value.fields) == {"team", "name", "url", "kinds"}
    webhook = services.create_webhook(actor=manager, team_id=team.pk, name="Slack", url="https://h.example/")
    assert len(webhook.secret) == 48


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_email_over_smtp(empty_job_queue: None, settings: Any) -> None:
    rep = UserFactory.create(email="rep@example.com", language="en")
    services.notify(user_id=rep.pk, kind="lead_assigned", title="New lead: Ana", body="Ana from Madrid",
                    lead_id=5, url="/leads/5/")  # fmt: skip
    with smtp_server() as mailbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = mailbox.port
        connection.close()
        with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
            worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
    [message] = mailbox.messages
    assert message["Subject"] == "[Embudo] New lead: Ana"
    assert "Ana from Madrid" in message.get_content()
    mine = ProcrastinateJob.objects.filter(task_name__startswith="notifications.")
    assert set(mine.values_list("status", flat=True)) == {"succeeded"}


def test_lazy_titles_are_rendered_in_each_recipients_language() -> None:
    from django.utils import translation
    from django.utils.translation import gettext_lazy

    spanish = UserFactory.create(language="es")
    english = UserFactory.create(language="en")
    with translation.override("en"):  # the request or job that caused it speaks English
        for user in (spanish, english):
            services.notify(
                user_id=user.pk, kind=domain.LEAD_ASSIGNED, title=gettext_lazy("New lead assigned: %(lead)s"),
                params={"lead": "Ana Díaz"}, lead_id=None,
            )  # fmt: skip
    titles = dict(Notification.objects.values_list("user_id", "title"))
    assert titles[english.pk] == "New lead assigned: Ana Díaz"
    assert titles[spanish.pk] != titles[english.pk] and titles[spanish.pk].endswith("Ana Díaz")
