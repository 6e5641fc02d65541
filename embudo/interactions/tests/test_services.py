"""Logging interactions: each kind, the SLA first touch, the timeline event, permissions, validation,
and email delivery through Django's mail (locmem here; a real SMTP server and worker in test_tasks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core import clock
from embudo.core.models import DomainEvent
from embudo.interactions import services
from embudo.interactions.exceptions import InvalidInteraction, LeadNotFound
from embudo.interactions.models import DeliveryStatus, Interaction
from embudo.interactions.tests.conftest import World
from embudo.leads.tests.factories import LeadFactory
from embudo.routing import selectors as routing_selectors
from embudo.sla import selectors as sla_selectors
from embudo.sla import services as sla_services

pytestmark = pytest.mark.django_db


def start_sla(world: World, *, target_minutes: int = 10) -> None:
    sla_services.save_policy(actor=world.manager, data={
        "name": "New lead: call within 10 minutes", "trigger": "assigned", "target_minutes": target_minutes,
        "remind_before_minutes": 0, "business_hours": False, "conditions": [],
    })  # fmt: skip
    sla_services.start_clocks(lead_id=world.lead.pk, trigger="assigned")


def clock_statuses(world: World) -> list[str]:
    return list(
        sla_selectors.clocks_visible_to(world.manager).filter(lead_id=world.lead.pk).values_list("status", flat=True)
    )


def jobs(task_name: str) -> list[dict[str, Any]]:
    return list(ProcrastinateJob.objects.filter(task_name=task_name).values_list("args", flat=True))


def test_log_call_stores_it_meets_the_sla_and_publishes_the_timeline_event(world: World) -> None:
    start_sla(world)
    assert clock_statuses(world) == ["open"]
    call = services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="connected", duration_seconds=330,
                             notes="  Interested in the annual plan.  ")  # fmt: skip

    stored = Interaction.objects.get()
    assert (stored.pk, stored.kind, stored.outcome, stored.duration_seconds, stored.body, stored.actor_id) == (
        call.pk, "call", "connected", 330, "Interested in the annual plan.", world.rep.pk)  # fmt: skip
    assert (stored.direction, stored.to_address) == ("outbound", "+34600111222")
    assert clock_statuses(world) == ["met"]
    assert sla_selectors.lead_was_touched(world.lead.pk)
    speed = routing_selectors.speed_of(world.lead.pk)
    assert speed is not None and speed.first_touch_at == stored.occurred_at
    event = DomainEvent.objects.get(type="interactions.InteractionLogged")
    assert (event.lead_id, event.actor_id) == (world.lead.pk, world.rep.pk)
    assert event.payload == {"interaction_id": call.pk, "kind": "call", "outcome": "connected",
                             "summary": "Interested in the annual plan.", "direction": "outbound",
                             "duration_seconds": 330, "subject": ""}  # fmt: skip
    met = DomainEvent.objects.get(type="sla.SlaMet")
    assert met.payload["touch"] == "call"
    assert jobs("pipeline.on_interaction_logged") == [{"event_id": event.pk}]


def test_a_backdated_call_is_placed_at_its_time_and_touches_at_that_time(world: World) -> None:
    start_sla(world)
    later = clock.now() + timedelta(minutes=30)  # the deadline has passed by then
    with time_machine.travel(later, tick=False):
        at = later - timedelta(minutes=25)  # … but the call happened 5 minutes after the clock started
        services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="no_answer", occurred_at=at)
    assert clock_statuses(world) == ["met"]
    assert DomainEvent.objects.get(type="interactions.InteractionLogged").occurred_at == at


def test_first_touch_is_recorded_once(world: World) -> None:
    first = services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="voicemail")
    services.log_whatsapp(actor=world.rep, lead_id=world.lead.pk, text="¿Hablamos mañana?")
    speed = routing_selectors.speed_of(world.lead.pk)
    assert speed is not None and speed.first_touch_at == first.occurred_at


@pytest.mark.parametrize(
    ("kind", "log"),
    [
        ("meeting", lambda w: services.log_meeting(actor=w.rep, lead_id=w.lead.pk, outcome="held", notes="Demo")),
        ("email", lambda w: services.send_email(actor=w.rep, lead_id=w.lead.pk, subject="Hola", body="Qué tal")),
        ("whatsapp", lambda w: services.log_whatsapp(actor=w.rep, lead_id=w.lead.pk, text="Hola Lola")),
    ],
)
def test_every_kind_counts_as_the_first_touch(world: World, kind: str, log: Any) -> None:
    start_sla(world)
    interaction = log(world)
    assert interaction.kind == kind
    assert clock_statuses(world) == ["met"]
    assert DomainEvent.objects.get(type="sla.SlaMet").payload["touch"] == kind
    assert DomainEvent.objects.get(type="interactions.InteractionLogged").payload["kind"] == kind


def test_send_email_queues_the_delivery_job_and_sends_nothing_in_the_request(world: World) -> None:
    email = services.send_email(
        actor=world.rep, lead_id=world.lead.pk, subject=" Next steps ", body="Hi Lola,\n\nThanks."
    )
    assert (email.delivery_status, email.to_address, email.subject) == ("queued", "lola@acme.example", "Next steps")
    assert email.message_id.startswith("<") and email.message_id.endswith(">")
    assert mail.outbox == []
    assert jobs("interactions.deliver_email") == [{"interaction_id": email.pk}]


def test_deliver_email_sends_from_the_rep_once(world: World, settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Embudo <sales@acme.example>"
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Next steps", body="Hi Lola")
    assert services.deliver_email(interaction_id=email.pk) == "sent"
    assert services.deliver_email(interaction_id=email.pk) == "sent"  # a second run is a no-op
    [message] = mail.outbox
    assert message.from_email == "Rita Rep <sales@acme.example>"
    assert message.reply_to == ["Rita Rep <rita@example.com>"]
    assert message.to == ["Lola Lead <lola@acme.example>"]
    assert (message.subject, message.body) == ("Next steps", "Hi Lola")
    assert message.extra_headers["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert email.delivery_status == "sent" and email.sent_at is not None and email.delivery_error == ""


def test_an_unreachable_mail_server_retries_then_fails(world: World, settings: Any) -> None:
    from embudo.interactions.exceptions import EmailNotSentYet
    from embudo.notifications.tests.support import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
    with pytest.raises(EmailNotSentYet):
        services.deliver_email(interaction_id=email.pk, final_attempt=False)
    email.refresh_from_db()
    assert email.delivery_status == "queued" and "ConnectionRefusedError" in email.delivery_error
    assert services.deliver_email(interaction_id=email.pk, final_attempt=True) == "failed"
    email.refresh_from_db()
    assert email.delivery_status == "failed"
    failed = DomainEvent.objects.get(type="interactions.EmailFailed")
    assert failed.payload["to"] == "lola@acme.example" and "Connection" in failed.payload["error"]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.retry_email(actor=world.rep, interaction_id=email.pk)
    assert services.deliver_email(interaction_id=email.pk) == "sent"
    assert len(mail.outbox) == 1


def test_a_rolled_back_log_sends_nothing_and_leaves_nothing(world: World) -> None:
    start_sla(world)
    before = DomainEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
        raise RuntimeError("the caller failed after logging")
    assert Interaction.objects.count() == 0
    assert jobs("interactions.deliver_email") == []
    assert DomainEvent.objects.count() == before
    assert clock_statuses(world) == ["open"]
    assert mail.outbox == []


def test_reps_act_only_on_leads_they_can_see(world: World) -> None:
    someone_elses = LeadFactory(owner=world.other_rep, team=world.team, phone="+34600999888")
    for log in (
        lambda: services.log_call(actor=world.rep, lead_id=someone_elses.pk, outcome="connected"),
        lambda: services.log_meeting(actor=world.rep, lead_id=someone_elses.pk, outcome="held"),
        lambda: services.send_email(actor=world.rep, lead_id=someone_elses.pk, subject="Hi", body="Hello"),
        lambda: services.log_whatsapp(actor=world.rep, lead_id=someone_elses.pk, text="Hola"),
        lambda: services.log_call(actor=world.rep, lead_id=999_999, outcome="connected"),
    ):
        with pytest.raises(LeadNotFound):
            log()
    # Their manager sees the team's leads and may log for them.
    services.log_call(actor=world.manager, lead_id=someone_elses.pk, outcome="connected")
    assert Interaction.objects.filter(lead=someone_elses).count() == 1


def test_validation_errors_name_the_fields_and_store_nothing(world: World) -> None:
    with pytest.raises(InvalidInteraction) as exc:
        services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="maybe", duration_seconds=-3,
                          occurred_at=clock.now() + timedelta(hours=2))  # fmt: skip
    assert set(exc.value.fields) == {"outcome", "duration_seconds", "occurred_at"}
    assert exc.value.fields["occurred_at"] == ["This is in the future: log what already happened."]
    with pytest.raises(InvalidInteraction) as exc:
        services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="connected", duration_seconds=9 * 3600)
    assert exc.value.fields == {"duration_seconds": ["At most 8 hours."]}
    with pytest.raises(InvalidInteraction) as exc:
        services.log_meeting(actor=world.rep, lead_id=world.lead.pk, outcome="")
    assert exc.value.fields == {"outcome": ["Choose an outcome."]}
    with pytest.raises(InvalidInteraction) as exc:
        services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi\nBcc: x@evil.example", body=" ")
    assert set(exc.value.fields) == {"subject", "body"}
    assert (
        Interaction.objects.count() == 0 and not DomainEvent.objects.filter(type__startswith="interactions.").exists()
    )


def test_email_and_whatsapp_need_the_leads_address_and_phone(world: World) -> None:
    bare = LeadFactory(owner=world.rep, email="", phone="")
    with pytest.raises(InvalidInteraction) as exc:
        services.send_email(actor=world.rep, lead_id=bare.pk, subject="Hi", body="Hello")
    assert exc.value.fields == {"to": ["This lead has no email address: add one to the lead first."]}
    with pytest.raises(InvalidInteraction) as exc:
        services.log_whatsapp(actor=world.rep, lead_id=bare.pk, text="Hola")
    assert exc.value.fields == {"phone": ["This lead has no phone number: add one to the lead first."]}


def test_log_email_records_an_email_exchanged_elsewhere_without_sending(world: World) -> None:
    email = services.log_email(actor=world.rep, lead_id=world.lead.pk, subject="Re: pricing", body="Sounds good",
                               direction="inbound", occurred_at=clock.now() - timedelta(hours=1))  # fmt: skip
    assert (email.delivery_status, email.direction) == (DeliveryStatus.NONE, "inbound")
    assert jobs("interactions.deliver_email") == []


def test_an_email_left_sending_by_a_dead_worker_is_marked_failed_not_resent(world: World) -> None:
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
    Interaction.objects.filter(pk=email.pk).update(delivery_status="sending", claimed_at=clock.now())
    assert services.fail_interrupted_emails() == 0  # still within the grace period
    with time_machine.travel(clock.now() + timedelta(minutes=16), tick=False):
        assert services.fail_interrupted_emails() == 1
    email.refresh_from_db()
    assert email.delivery_status == "failed" and "worker stopped" in email.delivery_error
    assert services.deliver_email(interaction_id=email.pk) == "failed" and mail.outbox == []
    assert DomainEvent.objects.filter(type="interactions.EmailFailed").count() == 1
