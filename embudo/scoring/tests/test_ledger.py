"""The ledger invariant, as a hypothesis state machine on the real database: whatever happens (new leads,
behaviour events, edits, model versions published, team models, the clock moving and decay runs),
``lead.score == sum(ledger) == sum(contributions)``, and the incremental paths (publish recomputing only
changed rules, decay recomputing only clock-dependent ones) leave nothing for a full recompute to fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from embudo.accounts.tests.factories import TeamFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import services
from embudo.scoring.models import ScoreEntry
from embudo.scoring.tests.engine_helpers import activity, assert_invariant

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TITLES = ["IT Director", "Student", "Head of Growth", ""]

rule_strategy = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("fit"),
            "label": st.sampled_from(["Senior", "Student"]),
            "points": st.integers(-30, 60).filter(bool),
            "conditions": st.sampled_from(
                [
                    [{"field": "job_title", "op": "contains", "value": ["director", "head"]}],
                    [{"field": "job_title", "op": "equals", "value": "student"}],
                ]
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("engagement"),
            "label": st.sampled_from(["Pricing", "Webinar"]),
            "points": st.integers(-20, 40).filter(bool),
            "event_type": st.sampled_from(["page_view", "webinar_attended"]),
            "repeatable": st.just(True),
            "max_points": st.integers(1, 80),
            "window_days": st.none() | st.integers(1, 20),
            "decay": st.sampled_from(["none", "linear", "half_life"]),
            "decay_days": st.integers(1, 15),
        }
    ),
)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.team = TeamFactory.create()
        self.leads: list[int] = []
        self.fresh = True

    def teardown(self) -> None:
        self.traveller.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @rule(title=st.sampled_from(TITLES), in_team=st.booleans())
    def capture_lead(self, title: str, in_team: bool) -> None:
        lead = LeadFactory.create(job_title=title, team=self.team if in_team else None, created_at=START)
        self.leads.append(lead.pk)
        services.score_leads([lead.pk], cause="captured")

    @precondition(lambda self: self.leads)
    @rule(data=st.data(), event_type=st.sampled_from(["page_view", "webinar_attended"]))
    def behaviour(self, data: st.DataObject, event_type: str) -> None:
        lead_ids = data.draw(st.lists(st.sampled_from(self.leads), min_size=1, max_size=3, unique=True))
        for lead_id in lead_ids:
            activity(Lead(pk=lead_id), event_type, self._now(), url="/pricing")
        services.score_leads(lead_ids, cause="activity")

    @precondition(lambda self: self.leads)
    @rule(data=st.data(), title=st.sampled_from(TITLES))
    def edit(self, data: st.DataObject, title: str) -> None:
        lead_id = data.draw(st.sampled_from(self.leads))
        Lead.objects.filter(pk=lead_id).update(job_title=title)
        services.score_leads([lead_id], cause="edited")

    @precondition(lambda self: self.leads)
    @rule(data=st.data())
    def move_team(self, data: st.DataObject) -> None:
        lead_id = data.draw(st.sampled_from(self.leads))
        lead = Lead.objects.get(pk=lead_id)
        Lead.objects.filter(pk=lead_id).update(team=None if lead.team_id else self.team)
        services.score_leads([lead_id], cause="edited")

    @rule(
        team=st.booleans(),
        add=st.lists(rule_strategy, max_size=2),
        drop=st.integers(0, 3),
        bump=st.integers(-1, 3),
        inactivity=st.sampled_from([(0, 0), (10, -10), (3, 5)]),
    )
    def publish(self, team: bool, add: list[dict[str, Any]], drop: int, bump: int, inactivity: tuple[int, int]) -> None:
        draft = services.create_draft(actor=None, team_id=self.team.pk if team else None)
        current = [services.rule_as_dict(r) for r in draft.rules.all()]
        if current and drop:
            current.pop(drop % len(current))
        if current and bump >= 0:
            changed = current[bump % len(current)]
            changed["points"] = changed["points"] + 7 if changed["points"] + 7 else 3
        try:
            services.update_draft(
                draft.pk, actor=None, rules=current + add, inactivity_days=inactivity[0],
                inactivity_points=inactivity[1],
            )  # fmt: skip
        except services.InvalidModel:
            return
        services.publish(draft.pk, actor=None, rescore="now")

    @rule(days=st.integers(1, 12))
    def time_passes(self, days: int) -> None:
        self.clock.shift(timedelta(days=days, hours=3))
        self.fresh = False

    @rule()
    def decay_job(self) -> None:
        services.run_decay()
        self.fresh = True

    @invariant()
    def score_equals_ledger_equals_contributions(self) -> None:
        assert_invariant()

    @invariant()
    def nothing_left_for_a_full_recompute(self) -> None:
        if self.fresh and self.leads:
            assert services.score_leads(self.leads, cause="check") == {}  # everything recomputed
            assert not ScoreEntry.objects.filter(cause="check").exists()

    def _now(self) -> datetime:
        from embudo.core import clock

        return clock.now()


def test_ledger_invariant_state_machine() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
