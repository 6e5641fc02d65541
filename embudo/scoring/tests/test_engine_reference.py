"""The SQL engine agrees with the pure reference evaluator on random rules and events (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embudo.core.models import DomainEvent
from embudo.leads import condition_fields
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import services
from embudo.scoring.domain import rules as domain
from embudo.scoring.models import ScoringVersion

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TYPES = ["page_view", "webinar_attended", "email_clicked"]
URLS = ["/pricing", "/PRICING/plans", "/blog/ñandú", "/case-studies/acme", ""]
TITLES = ["IT Director", "Head of Sales", "Student", "", "VP Engineering", "Director ESPAÑA"]


@st.composite
def engagement_rule(draw: Any) -> dict[str, Any]:
    repeatable = draw(st.booleans())
    decay = draw(st.sampled_from(["none", "linear", "half_life"]))
    conditions = draw(
        st.sampled_from(
            [
                [],
                [{"field": "properties.url", "op": "contains", "value": "pricing"}],
                [{"field": "properties.url", "op": "starts_with", "value": ["/blog", "/case"]}],
                [{"field": "properties.n", "op": "gte", "value": 3}],
                [{"field": "properties.url", "op": "missing"}],
            ]
        )
    )
    return {
        "kind": "engagement",
        "label": "e",
        "points": draw(st.integers(-40, 40).filter(bool)),
        "event_type": draw(st.sampled_from(TYPES)),
        "repeatable": repeatable,
        "max_points": draw(st.integers(1, 90)) if repeatable else draw(st.none() | st.integers(1, 90)),
        "window_days": draw(st.none() | st.integers(1, 60)),
        "decay": decay,
        "decay_days": draw(st.integers(1, 40)) if decay != "none" else None,
        "conditions": conditions,
    }


fit_rule = st.fixed_dictionaries(
    {
        "kind": st.just("fit"),
        "label": st.just("f"),
        "points": st.integers(-50, 50).filter(bool),
        "conditions": st.sampled_from(
            [
                [{"field": "job_title", "op": "contains", "value": ["director", "head", "vp"]}],
                [{"field": "job_title", "op": "equals", "value": "student"}],
                [{"field": "job_title", "op": "contains", "value": "españa"}],
                [{"field": "job_title", "op": "missing"}],
            ]
        ),
    }
)

event = st.tuples(
    st.sampled_from(TYPES),
    st.integers(0, 90 * 86400 * 1000),  # milliseconds before NOW
    st.fixed_dictionaries({"url": st.sampled_from(URLS), "n": st.integers(0, 6)}),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rules=st.lists(st.one_of(engagement_rule(), fit_rule), min_size=1, max_size=5),
    leads=st.lists(
        st.tuples(st.sampled_from(TITLES), st.integers(0, 80), st.lists(event, max_size=8)), min_size=1, max_size=4
    ),
    inactivity=st.sampled_from([(0, 0), (30, -10), (7, 5)]),
)
def test_sql_engine_agrees_with_reference(
    rules: list[dict[str, Any]], leads: list[tuple[str, int, list[Any]]], inactivity: tuple[int, int]
) -> None:
    with transaction.atomic(), time_machine.travel(NOW, tick=False):
        created = []
        for title, age_days, events in leads:
            lead = LeadFactory.create(job_title=title, created_at=NOW - timedelta(days=age_days))
            rows = [
                DomainEvent(
                    type=f"activity.{t}",
                    occurred_at=NOW - timedelta(milliseconds=ms),
                    lead_id=lead.pk,
                    payload={"properties": props},
                )
                for t, ms, props in events
            ]
            DomainEvent.objects.bulk_create(rows)
            created.append((lead, rows))
        draft = services.create_draft(actor=None)
        try:
            services.update_draft(
                draft.pk, actor=None, rules=rules, inactivity_days=inactivity[0], inactivity_points=inactivity[1]
            )
        except services.InvalidModel:
            transaction.set_rollback(True)
            return
        services.publish(draft.pk, actor=None, rescore="none")
        services.score_leads([lead.pk for lead, _ in created], cause="test")
        spec = services.spec_of(ScoringVersion.objects.get(pk=draft.pk))
        for lead, rows in created:
            lead = Lead.objects.select_related("company").get(pk=lead.pk)
            record = condition_fields.record_of(lead)
            occurrences = [(r.type.removeprefix("activity."), r.occurred_at, r.payload["properties"]) for r in rows]
            expected = 0
            for rule in spec.rules:
                if rule.kind == domain.FIT:
                    expected += domain.evaluate_fit(rule, record)
                else:
                    expected += domain.evaluate_engagement(rule, occurrences, now=NOW)
            if spec.inactivity_on and domain.is_inactive(
                created_at=lead.created_at,
                activity_times=[r.occurred_at for r in rows],
                now=NOW,
                inactivity_days=spec.inactivity_days,
            ):
                expected += spec.inactivity_points
            assert lead.score == expected, (rules, occurrences)
        transaction.set_rollback(True)
