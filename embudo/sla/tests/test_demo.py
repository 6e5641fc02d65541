from __future__ import annotations

import pytest

from embudo.sla import demo
from embudo.sla.models import Holiday, SlaPolicy

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent() -> None:
    demo.seed_demo(teams={}, users={})
    demo.seed_demo(teams={}, users={})
    assert sorted(SlaPolicy.objects.values_list("trigger", "target_minutes", "business_hours")) == [
        ("assigned", 10, True), ("hot", 10, True), ("sql", 540, True)
    ]  # fmt: skip
    assert Holiday.objects.count() == 6
