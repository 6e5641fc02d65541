"""A real worker sends a logged email over a real SMTP server (aiosmtpd), once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.interactions import services
from embudo.interactions.models import Interaction
from embudo.interactions.tests.conftest import World
from embudo.notifications.tests.support import smtp_server


def run_worker() -> None:
    connection.close()
    with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_email_over_smtp_exactly_once(
    empty_job_queue: None, world: World, settings: Any
) -> None:
    settings.DEFAULT_FROM_EMAIL = "Embudo <sales@acme.example>"
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Próximos pasos",
                                body="Hola Lola,\n\n¿Te va bien el martes?")  # fmt: skip
    # A duplicate job (a retry, an operator's re-run) must not send a second copy.
    procrastinate_app.configure_task(services.DELIVER_TASK).defer(interaction_id=email.pk)
    with smtp_server() as mailbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox.port
        run_worker()

    [message] = mailbox.messages
    assert message["Subject"] == "Próximos pasos"
    assert message["From"] == "Rita Rep <sales@acme.example>"
    assert message["Reply-To"] == "Rita Rep <rita@example.com>"
    assert message["To"] == "Lola Lead <lola@acme.example>"
    assert "¿Te va bien el martes?" in message.get_content()
    stored = Interaction.objects.get(pk=email.pk)
    assert message["Message-ID"] == stored.message_id
    assert (stored.delivery_status, stored.delivery_error) == ("sent", "")
    deliveries = ProcrastinateJob.objects.filter(task_name=services.DELIVER_TASK)
    assert list(deliveries.values_list("status", flat=True)) == ["succeeded", "succeeded"]
