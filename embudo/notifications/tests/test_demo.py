from __future__ import annotations

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.leads.tests.factories import LeadFactory
from embudo.notifications import demo
from embudo.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_reps_a_few_notifications_once() -> None:
    rep = UserFactory.create(role=Role.SALES_REP, language="es")
    manager = UserFactory.create(role=Role.MANAGER)
    for _ in range(4):
        LeadFactory.create(owner=rep)
    demo.seed_demo(teams={}, users={"rep": rep, "manager": manager})
    demo.seed_demo(teams={}, users={"rep": rep, "manager": manager})
    rows = list(Notification.objects.filter(user=rep))
    assert len(rows) == 3 and sum(1 for n in rows if n.read_at is None) == 2
    assert not Notification.objects.filter(user=manager).exists()
