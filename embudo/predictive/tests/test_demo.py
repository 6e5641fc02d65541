"""Demo data: a share of older leads closed won/lost in a learnable way, then a trained model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.leads.models import Lead
from embudo.predictive import demo, selectors
from embudo.predictive.models import LeadPrediction, PredictiveModel
from embudo.predictive.tests.factories import make_outcomes

pytestmark = pytest.mark.django_db


def test_seed_demo_closes_leads_trains_and_is_idempotent():
    make_outcomes(0, open_leads=900)
    Lead.objects.update(created_at=timezone.now() - timedelta(days=40))
    users = {"marketing": UserFactory.create(role=Role.MARKETING)}
    demo.seed_demo(teams={}, users=users)
    closed = Lead.objects.exclude(outcome="").count()
    assert 0.25 * 900 < closed < 0.45 * 900
    gate = selectors.gate()
    assert gate.passed and gate.won > 30 and gate.lost > 30
    model = PredictiveModel.objects.get(status="active")
    assert model.auc is not None and model.auc > 0.6 and model.trained_by_id == users["marketing"].pk
    assert LeadPrediction.objects.count() == 900 - closed

    demo.seed_demo(teams={}, users=users)
    assert Lead.objects.exclude(outcome="").count() == closed and PredictiveModel.objects.count() == 1
