"""Predictive scoring in a real browser: the rules-only state, importing outcomes, the trained model's
metrics and calibration chart, "Train now", and a lead's prediction fragment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.predictive import services
from embudo.predictive.models import HistoricalOutcome
from embudo.predictive.tests.factories import make_outcomes
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_import_outcomes_then_see_the_trained_model(page: Any, live_server: Any, tmp_path: Path) -> None:
    UserFactory(email="mara@example.com", full_name="Mara Marketing", role=Role.MARKETING)
    log_in(page, live_server.url, "mara@example.com")
    page.goto(f"{live_server.url}/scoring/predictive/")
    assert page.get_by_text("Using rules only").first.is_visible()
    assert page.get_by_role("button", name="Train now").is_disabled()

    csv = tmp_path / "old-crm.csv"
    csv.write_text("Stage,Country\n" + "".join(f"{'Won' if i % 3 else 'Lost'},ES\n" for i in range(12)))
    page.get_by_role("link", name="Import outcomes").click()
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_label("Outcome column").fill("Stage")
    page.get_by_label("Value meaning won").fill("Won")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"{live_server.url}/scoring/predictive/")
    assert page.get_by_text("Imported 12 outcomes (8 won) from old-crm.csv.").is_visible()
    assert HistoricalOutcome.objects.count() == 12

    leads = make_outcomes(260, seed=5, open_leads=1)
    model = services.train_model()
    page.reload()
    assert page.get_by_test_id("auc").inner_text() == f"{model.auc:.3f}"
    assert page.locator("svg.pred-chart circle").count() >= 2
    page.get_by_role("button", name="Train now").click()
    assert page.get_by_text("Training queued").is_visible()

    page.goto(f"{live_server.url}/scoring/predictive/leads/{leads[-1].pk}/")
    assert page.get_by_test_id("lead-probability").inner_text().endswith("%")
