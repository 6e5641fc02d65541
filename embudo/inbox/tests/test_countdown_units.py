"""The SLA countdown's unit letters come from the page's language (the JS reads them from the page)."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.accounts.tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "units"), [("en", "d h m s"), ("es", "d h min s")])
def test_countdown_units_follow_the_users_language(client: Client, language: str, units: str) -> None:
    rep = UserFactory.create(language=language, teams=[TeamFactory.create()])
    client.force_login(rep)
    assert f'data-countdown-units="{units}"' in client.get("/inbox/").content.decode()
