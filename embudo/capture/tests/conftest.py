"""Fixtures shared by the intake tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.routing.tests.conftest import build_setup
from embudo.scoring import demo as scoring_demo
from embudo.sla import demo as sla_demo


@pytest.fixture
def configured() -> Any:
    """Every context configured: a published scoring model, routing rules with pools, SLA policies; returns
    (the routing setup, an API client of its admin)."""
    setup = build_setup()
    teams = {"Iberia": setup.iberia, "Americas": setup.americas}
    users = {u.email: u for u in [setup.admin, setup.manager, *setup.iberia_reps, *setup.americas_reps]}
    marketing = account_services.create_user(email="mkt@example.com", role=Role.MARKETING, password="x" * 12)
    users[marketing.email] = marketing
    scoring_demo.seed_demo(teams=teams, users=users)
    sla_demo.seed_demo(teams=teams, users=users)
    _, token = account_services.create_api_token(user_email=setup.admin.email, name="tests")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return setup, client
