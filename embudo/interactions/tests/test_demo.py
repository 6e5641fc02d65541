from __future__ import annotations

import pytest
from django.core import mail
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.interactions import demo
from embudo.interactions.models import Interaction
from embudo.interactions.tests.conftest import World
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_demo_logs_calls_emails_and_a_meeting_once_and_sends_nothing(world: World) -> None:
    LeadFactory(owner=world.rep, team=world.team, language="es", first_name="Lucía", score=80)
    users = {u.email: u for u in (world.rep, world.manager, world.other_rep)}
    demo.seed_demo(teams={"Iberia": world.team}, users=users)
    logged = Interaction.objects.filter(actor=world.rep)
    kinds = sorted(logged.values_list("kind", flat=True))
    assert kinds == ["call", "call", "call", "email", "email", "meeting"]
    assert any("Hablé con Lucía" in body for body in logged.values_list("body", flat=True))
    assert not logged.filter(delivery_status__gt="").exists()
    demo.seed_demo(teams={"Iberia": world.team}, users=users)  # idempotent
    assert Interaction.objects.count() == 6
    assert mail.outbox == [] and not ProcrastinateJob.objects.filter(task_name="interactions.deliver_email").exists()
