"""Lifecycle and BANT services on a real database: automatic moves, moves by hand, permissions, events."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.exceptions import InvalidInput, PermissionDenied
from embudo.core.models import DomainEvent
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import lifecycle
from embudo.scoring.services import ScoreChange

pytestmark = pytest.mark.django_db


def _change(lead: Lead, old: int, new: int) -> ScoreChange:
    return ScoreChange(lead_id=lead.pk, old_score=old, score=new, old_grade="cold", grade="hot")


def _events(lead: Lead, type_: str = "scoring.LifecycleChanged") -> list[DomainEvent]:
    return list(DomainEvent.objects.filter(lead_id=lead.pk, type=type_).order_by("id"))


@pytest.fixture
def team() -> Team:
    return TeamFactory()


@pytest.fixture
def rep(team: Team) -> User:
    return UserFactory(role=Role.SALES_REP, teams=[team])


def test_crossing_the_mql_threshold_moves_subscribers_and_leads_only(django_assert_max_num_queries: Any) -> None:
    sub = LeadFactory(lifecycle_stage="subscriber")
    lead = LeadFactory(lifecycle_stage="lead")
    sql = LeadFactory(lifecycle_stage="sql")
    customer = LeadFactory(lifecycle_stage="customer")
    below = LeadFactory(lifecycle_stage="lead")
    already = LeadFactory(lifecycle_stage="lead")
    changes = {
        sub.pk: _change(sub, 10, 90),
        lead.pk: _change(lead, 80, 81),
        sql.pk: _change(sql, 10, 95),
        customer.pk: _change(customer, 0, 100),
        below.pk: _change(below, 10, 80),
        already.pk: _change(already, 85, 95),  # was above the threshold already: a hand-made demotion sticks
    }
    # One UPDATE, then one event row per moved lead (+ its subscriber jobs).
    with django_assert_max_num_queries(1 + 2 * 3):
        lifecycle.on_scores_changed(changes, mql_threshold=81)
    stages = dict(Lead.objects.values_list("id", "lifecycle_stage"))
    assert stages[sub.pk] == stages[lead.pk] == "mql"
    assert (stages[sql.pk], stages[customer.pk], stages[below.pk], stages[already.pk]) == (
        "sql",
        "customer",
        "lead",
        "lead",
    )
    [event] = _events(sub)
    assert event.payload == {
        "old_stage": "subscriber",
        "stage": "mql",
        "reason": "score 90 ≥ 81",
        "rule": "score_threshold",
    }
    assert Lead.objects.get(pk=sub.pk).lifecycle_changed_at is not None
    assert _events(sql) == [] and _events(below) == []


def test_no_crossing_costs_no_query(django_assert_num_queries: Any) -> None:
    lead = LeadFactory(lifecycle_stage="lead")
    with django_assert_num_queries(0):
        lifecycle.on_scores_changed({lead.pk: _change(lead, 10, 20)}, mql_threshold=81)
        lifecycle.on_product_activity([])


def test_product_activity_makes_leads_product_qualified() -> None:
    leads = [LeadFactory(lifecycle_stage=s) for s in ("subscriber", "lead", "mql", "sql", "disqualified")]
    lifecycle.on_product_activity([lead.pk for lead in leads])
    lifecycle.on_product_activity([lead.pk for lead in leads])  # idempotent
    stages = [Lead.objects.get(pk=lead.pk).lifecycle_stage for lead in leads]
    assert stages == ["pql", "pql", "pql", "sql", "disqualified"]
    assert [e.payload["rule"] for e in _events(leads[0])] == ["product_activity"]


def test_a_rep_accepts_an_mql_and_the_event_says_who(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    lifecycle.set_stage(lead_id=lead.pk, stage="sql", actor=rep, reason="")
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "sql"
    [event] = _events(lead)
    assert event.actor_id == rep.pk
    assert event.payload == {"old_stage": "mql", "stage": "sql", "reason": "accepted", "rule": ""}


def test_disqualifying_needs_a_reason_and_stores_it(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    with pytest.raises(InvalidInput) as missing:
        lifecycle.set_stage(lead_id=lead.pk, stage="disqualified", actor=rep, reason="")
    assert missing.value.fields == {"reason": ["Choose why the lead is disqualified."]}
    with pytest.raises(InvalidInput) as other:
        lifecycle.set_stage(lead_id=lead.pk, stage="disqualified", actor=rep, reason="other")
    assert "note" in other.value.fields
    lifecycle.set_stage(lead_id=lead.pk, stage="disqualified", actor=rep, reason="no_budget", note="Frozen until Q3")
    lead.refresh_from_db()
    assert (lead.lifecycle_stage, lead.lifecycle_reason) == ("disqualified", "no_budget: Frozen until Q3")
    assert _events(lead)[-1].payload["reason"] == "no_budget: Frozen until Q3"


def test_disqualifying_closes_the_lead_and_bringing_it_back_reopens_it(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="mql", status="working")
    lifecycle.set_stage(lead_id=lead.pk, stage="disqualified", actor=rep, reason="no_budget")
    lead.refresh_from_db()
    assert (lead.lifecycle_stage, lead.status) == ("disqualified", "disqualified")
    lifecycle.set_stage(lead_id=lead.pk, stage="lead", actor=rep, reason="Budget approved after all")
    lead.refresh_from_db()
    assert (lead.lifecycle_stage, lead.status) == ("lead", "working")


def test_moving_back_needs_a_reason(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="sql")
    with pytest.raises(InvalidInput):
        lifecycle.set_stage(lead_id=lead.pk, stage="mql", actor=rep, reason=" ")
    lifecycle.set_stage(lead_id=lead.pk, stage="mql", actor=rep, reason="Not ready, back to nurturing")
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "mql"


def test_who_may_move_a_lead(team: Team, rep: User) -> None:
    other_team = TeamFactory()
    manager = UserFactory(role=Role.MANAGER, teams=[team])
    other_manager = UserFactory(role=Role.MANAGER, teams=[other_team])
    marketing = UserFactory(role=Role.MARKETING)
    admin = UserFactory(role=Role.ADMIN)
    mate = UserFactory(role=Role.SALES_REP, teams=[team])
    lead = LeadFactory(owner=rep, team=team, lifecycle_stage="lead")
    unassigned = LeadFactory(owner=None, team=team, lifecycle_stage="lead")

    with pytest.raises(LeadNotFound):  # cannot even see it
        lifecycle.set_stage(lead_id=lead.pk, stage="mql", actor=mate, reason="")
    with pytest.raises(PermissionDenied):  # sees the team's unassigned lead, but it is not theirs
        lifecycle.set_stage(lead_id=unassigned.pk, stage="mql", actor=mate, reason="")
    with pytest.raises(LeadNotFound):
        lifecycle.set_stage(lead_id=lead.pk, stage="mql", actor=other_manager, reason="")
    with pytest.raises(PermissionDenied):  # marketing: marketing stages only
        lifecycle.set_stage(lead_id=lead.pk, stage="sql", actor=marketing, reason="")
    lifecycle.set_stage(lead_id=lead.pk, stage="mql", actor=marketing, reason="")
    lifecycle.set_stage(lead_id=lead.pk, stage="sql", actor=manager, reason="")
    lifecycle.set_stage(lead_id=unassigned.pk, stage="opportunity", actor=admin, reason="")
    assert lifecycle.allowed_moves(marketing, Lead.objects.get(pk=lead.pk)) == []
    assert "disqualified" in lifecycle.allowed_moves(rep, Lead.objects.get(pk=lead.pk))


def test_bant_edits_are_recorded_and_four_of_four_makes_an_sql(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    lifecycle.update_bant(lead_id=lead.pk, actor=rep, budget="50k EUR", authority="CTO signs", need="", timing="")
    lead.refresh_from_db()
    assert (lead.bant_known, lead.lifecycle_stage) == (2, "mql")
    [updated] = _events(lead, "leads.LeadUpdated")
    assert updated.payload["changes"] == {"bant_budget": ["", "50k EUR"], "bant_authority": ["", "CTO signs"]}
    assert updated.actor_id == rep.pk

    lifecycle.update_bant(lead_id=lead.pk, actor=rep, need="Replace spreadsheets", timing="This quarter")
    lead.refresh_from_db()
    assert (lead.bant_known, lead.lifecycle_stage) == (4, "sql")
    [moved] = _events(lead)
    assert moved.payload["rule"] == "bant_complete" and moved.actor_id == rep.pk

    # Nothing changed: no event.
    lifecycle.update_bant(lead_id=lead.pk, actor=rep, budget="50k EUR")
    assert len(_events(lead, "leads.LeadUpdated")) == 2


def test_bant_complete_does_not_move_an_opportunity_and_marketing_cannot_edit_bant(rep: User) -> None:
    lead = LeadFactory(owner=rep, lifecycle_stage="opportunity")
    lifecycle.update_bant(lead_id=lead.pk, actor=rep, budget="a", authority="b", need="c", timing="d")
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "opportunity"
    with pytest.raises(PermissionDenied):
        lifecycle.update_bant(lead_id=lead.pk, actor=UserFactory(role=Role.MARKETING), budget="x")
    with pytest.raises(InvalidInput) as too_long:
        lifecycle.update_bant(lead_id=lead.pk, actor=rep, need="x" * 201)
    assert too_long.value.fields == {"need": ["At most 200 characters."]}
