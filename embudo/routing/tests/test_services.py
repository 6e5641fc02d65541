"""Routing services on the real database: rules, pools, eligibility, fallbacks, explanations, speed marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory
from embudo.routing import selectors, services
from embudo.routing.exceptions import InvalidRouting, NotADraft, RoutingNotAllowed
from embudo.routing.models import Assignment, OutOfOffice, Pool, PoolMember, RuleSet, SpeedToLead
from embudo.routing.tests.conftest import Setup

pytestmark = pytest.mark.django_db

MONDAY_NOON_MADRID = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def assignment_of(result: services.RoutingResult | None) -> Assignment:
    assert result is not None and result.assignment_id is not None
    return Assignment.objects.get(pk=result.assignment_id)


def intake(lead: Lead, **kw: Any) -> services.RoutingResult | None:
    now = datetime.now(UTC)
    return services.route_at_intake(lead_id=lead.pk, created=True, received_at=now, stored_at=now, scored_at=now, **kw)


def test_territory_rules_pick_the_pool_and_round_robin_through_it(setup: Setup) -> None:
    owners = [intake(LeadFactory.create(country="ES")) for _ in range(6)]
    assert [o.owner_id for o in owners if o] == [u.pk for u in setup.iberia_reps] * 2
    assert {o.team_id for o in owners if o} == {setup.iberia.pk}
    mexico = intake(LeadFactory.create(country="MX"))
    assert mexico is not None and mexico.owner_id in {u.pk for u in setup.americas_reps}
    big = LeadFactory.create(country="ES", company=CompanyFactory.create(size="1000+"))
    result = intake(big)
    assert result is not None and result.owner_id == setup.senior.pk
    nowhere = intake(LeadFactory.create(country="JP"))
    assert nowhere is not None and nowhere.owner_id is None  # default action: the queue, explained
    assert assignment_of(nowhere).outcome == "queued"


def test_assignment_is_explained_written_through_and_announced(setup: Setup) -> None:
    lead = LeadFactory.create(country="PT", source="api")
    result = intake(lead)
    assert result is not None
    lead.refresh_from_db()
    assert (lead.owner_id, lead.team_id) == (result.owner_id, setup.iberia.pk)
    assignment = assignment_of(result)
    assert assignment.rule_name == "Iberia" and assignment.rule_set_number == setup.rule_set.number
    assert assignment.pool_id == setup.pools["iberia"].pk and assignment.kind == "automatic"
    assert [c["status"] for c in assignment.candidates] == ["chosen", "eligible", "eligible"]
    event = DomainEvent.objects.get(type="routing.LeadAssigned", lead_id=lead.pk)
    assert event.payload["owner_id"] == result.owner_id and event.payload["rule"] == "Iberia"
    assert setup.notified[-1]["kind"] == "lead_assigned" and setup.notified[-1]["user_id"] == result.owner_id
    assert setup.notified[-1]["url"] == f"/leads/{lead.pk}/"
    # Read with the pool's snapshot, before its lock: the same as notify would have read.
    from embudo.notifications import selectors as notifications_selectors

    assert setup.notified[-1]["recipient"] == notifications_selectors.get_recipient(result.owner_id, "lead_assigned")
    # The active "assigned" policies (none here) are read before the pool's lock too.
    assert setup.clocks == [{"lead_id": lead.pk, "trigger": "assigned", "new_lead": True, "policies": []}]
    speed = SpeedToLead.objects.get(lead_id=lead.pk)
    assert speed.assigned_at is not None and speed.notified_at is not None and speed.owner_id == result.owner_id
    assert speed.source == "api" and speed.team_id == setup.iberia.pk


def test_an_owned_lead_is_not_rerouted(setup: Setup) -> None:
    lead = LeadFactory.create(country="ES", owner=setup.senior)
    assert intake(lead) is None
    assert not Assignment.objects.exists()
    assert SpeedToLead.objects.get(lead_id=lead.pk).received_at is not None


def test_ineligible_reps_are_skipped_with_reasons(setup: Setup) -> None:
    a, b, c = setup.iberia_reps
    b.is_active = False
    b.save()
    OutOfOffice.objects.create(
        user=c,
        start=MONDAY_NOON_MADRID - timedelta(days=1),
        end=MONDAY_NOON_MADRID + timedelta(days=1),
        created_at=MONDAY_NOON_MADRID,
    )
    services.set_schedule(
        actor=setup.admin, user_id=a.pk, time_zone="America/Los_Angeles", hours={"mon": [["09:00", "18:00"]]}
    )  # 03:00 there: off shift
    with time_machine.travel(MONDAY_NOON_MADRID, tick=False):
        result = intake(LeadFactory.create(country="ES"))
    assert result is not None and result.owner_id == setup.manager.pk  # the pool's fallback manager
    assignment = assignment_of(result)
    assert assignment.outcome == "fallback_manager"
    assert {x["user_id"]: x["status"] for x in assignment.candidates} == {
        a.pk: "off_shift",
        b.pk: "inactive_user",
        c.pk: "out_of_office",
    }
    alerts = [n for n in setup.notified if n["kind"] == "routing_no_eligible"]
    assert [n["user_id"] for n in alerts] == [setup.manager.pk]
    # Back on shift in their own time zone: chosen again.
    with time_machine.travel(MONDAY_NOON_MADRID + timedelta(hours=9), tick=False):
        again = intake(LeadFactory.create(country="ES"))
    assert again is not None and again.owner_id == a.pk


def test_capacity_counts_open_leads_only(setup: Setup) -> None:
    a, b, c = setup.iberia_reps
    PoolMember.objects.filter(pool=setup.pools["iberia"]).update(capacity=1)
    LeadFactory.create(owner=a)  # open
    LeadFactory.create(owner=b, status="converted")  # closed: does not count
    LeadFactory.create(owner=c, lifecycle_stage="customer")
    LeadFactory.create(owner=c)  # open
    result = intake(LeadFactory.create(country="ES"))
    assert result is not None and result.owner_id == b.pk
    statuses = {x["user_id"]: x["status"] for x in assignment_of(result).candidates}
    assert statuses == {a.pk: "at_capacity", b.pk: "chosen", c.pk: "at_capacity"}
    # Everyone full and the fallback is the queue: unassigned, team set, managers alerted.
    Pool.objects.filter(pk=setup.pools["iberia"].pk).update(fallback="queue")
    queued = intake(LeadFactory.create(country="ES"))
    assert queued is not None and queued.owner_id is None and queued.team_id == setup.iberia.pk


def test_least_loaded_picks_the_emptiest_rep(setup: Setup) -> None:
    a, b, c = setup.iberia_reps
    Pool.objects.filter(pk=setup.pools["iberia"].pk).update(strategy="least_loaded")
    LeadFactory.create_batch(2, owner=a)
    LeadFactory.create(owner=c)
    result = intake(LeadFactory.create(country="ES"))
    assert result is not None and result.owner_id == b.pk
    result = intake(LeadFactory.create(country="ES"))
    assert result is not None and result.owner_id in (b.pk, c.pk)


def test_skills_and_language_requirements(setup: Setup) -> None:
    a, b, c = setup.iberia_reps
    services.update_pool(
        actor=setup.admin,
        pool_id=setup.pools["iberia"].pk,
        data={
            "match_language": True,
            "required_skills": ["Enterprise"],
            "members": [
                {"user_id": a.pk, "skills": ["enterprise"], "languages": ["en"]},
                {"user_id": b.pk, "skills": ["enterprise"], "languages": ["es", "en"]},
                {"user_id": c.pk, "languages": ["es"]},
            ],
        },
    )
    result = intake(LeadFactory.create(country="ES", language="es"))
    assert result is not None and result.owner_id == b.pk
    statuses = {x["user_id"]: x["status"] for x in assignment_of(result).candidates}
    assert statuses == {a.pk: "missing_language", b.pk: "chosen", c.pk: "missing_skill"}


def test_weighted_pool_follows_the_weights(setup: Setup) -> None:
    a, b, c = setup.iberia_reps
    services.update_pool(
        actor=setup.admin,
        pool_id=setup.pools["iberia"].pk,
        data={
            "strategy": "weighted",
            "members": [{"user_id": a.pk, "weight": 3}, {"user_id": b.pk, "weight": 2}, {"user_id": c.pk, "weight": 1}],
        },
    )
    owners = [r.owner_id for r in (intake(LeadFactory.create(country="ES")) for _ in range(12)) if r]
    assert [owners.count(u.pk) for u in (a, b, c)] == [6, 4, 2]


def test_account_owner_rule(setup: Setup) -> None:
    company = CompanyFactory.create()
    LeadFactory.create(company=company, owner=setup.senior)
    draft = services.create_draft(actor=setup.admin, rule_set_id=setup.rule_set.pk)
    rules = [
        {
            "name": "Same account",
            "action": "account_owner",
            "pool_id": setup.pools["iberia"].pk,
            "conditions": [{"field": "company.domain", "op": "present"}],
        }
    ]
    services.update_draft(actor=setup.admin, rule_set_id=draft.pk, data={"rules": rules})
    services.publish_rule_set(actor=setup.admin, rule_set_id=draft.pk)
    result = intake(LeadFactory.create(company=company))
    assert result is not None and result.owner_id == setup.senior.pk
    # A new company: the fallback pool.
    other = intake(LeadFactory.create(company=CompanyFactory.create()))
    assert other is not None and other.owner_id in {u.pk for u in setup.iberia_reps}


def test_product_and_form_fields(setup: Setup) -> None:
    draft = services.create_draft(actor=setup.admin, rule_set_id=setup.rule_set.pk)
    rules = [
        {
            "name": "Product X",
            "action": "assign_user",
            "user_id": setup.senior.pk,
            "conditions": [{"field": "product", "op": "equals", "value": "X"}],
        }
    ]
    services.update_draft(actor=setup.admin, rule_set_id=draft.pk, data={"rules": rules})
    services.publish_rule_set(actor=setup.admin, rule_set_id=draft.pk)
    result = intake(LeadFactory.create(custom_fields={"product": "x"}))
    assert result is not None and result.owner_id == setup.senior.pk


def test_preview_explains_and_writes_nothing(setup: Setup) -> None:
    lead = LeadFactory.create(country="MX")
    state_before = list(Pool.objects.order_by("pk").values_list("rr_state", flat=True))
    preview = services.preview(lead_id=lead.pk, rule_set_id=setup.rule_set.pk)
    assert preview.decision.rule_name == "Latin America"
    assert preview.decision.owner_id == setup.americas_reps[0].pk
    assert [c.matched for c in preview.checks] == [False, False, True]
    assert preview.checks[1].failed == ["country in es, pt"]
    assert list(Pool.objects.order_by("pk").values_list("rr_state", flat=True)) == state_before
    assert not Assignment.objects.exists()
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_reassign_to_next_eligible_excludes_the_current_owner(setup: Setup) -> None:
    lead = LeadFactory.create(country="ES")
    first = intake(lead)
    assert first is not None
    second = services.reassign_to_next_eligible(lead_id=lead.pk, reason="SLA breached")
    assert second is not None and second.owner_id not in (None, first.owner_id)
    assignment = assignment_of(second)
    assert assignment.kind == "escalation" and assignment.previous_owner_id == first.owner_id
    assert assignment.reason.startswith("SLA breached")
    excluded = [x for x in assignment.candidates if x["status"] == "excluded"]
    assert [x["user_id"] for x in excluded] == [first.owner_id]
    # Nobody else: keeps its owner, managers alerted.
    PoolMember.objects.filter(pool=setup.pools["iberia"]).exclude(user_id=second.owner_id or 0).update(active=False)
    assert services.reassign_to_next_eligible(lead_id=lead.pk, reason="SLA breached again") is None
    lead.refresh_from_db()
    assert lead.owner_id == second.owner_id


def test_manual_assignment_permissions(setup: Setup) -> None:
    lead = LeadFactory.create(team=setup.iberia)
    with pytest.raises(RoutingNotAllowed):
        services.assign_manually(lead_id=lead.pk, user_id=setup.senior.pk, actor=setup.iberia_reps[0], reason="x")
    with pytest.raises(InvalidRouting) as exc:
        services.assign_manually(lead_id=lead.pk, user_id=setup.senior.pk, actor=setup.manager, reason=" ")
    assert exc.value.fields == {"reason": ["Say why."]}
    result = services.assign_manually(
        lead_id=lead.pk, user_id=setup.senior.pk, actor=setup.manager, reason="Knows the account"
    )
    lead.refresh_from_db()
    assert lead.owner_id == setup.senior.pk
    a = assignment_of(result)
    assert (a.kind, a.actor_id, a.reason) == ("manual", setup.manager.pk, "Knows the account")
    americas_lead = LeadFactory.create(team=setup.americas)
    with pytest.raises(RoutingNotAllowed):  # not the manager's team
        services.assign_manually(lead_id=americas_lead.pk, user_id=setup.senior.pk, actor=setup.manager, reason="x")


def test_mark_speed_first_value_wins() -> None:
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    services.mark_speed(7, received=t1, source="api")
    services.mark_speed(7, received=t2, first_touch=t2, source="form", owner_id=3)
    services.mark_speed(7, first_touch_at=t1)
    speed = SpeedToLead.objects.get(lead_id=7)
    assert (speed.received_at, speed.first_touch_at, speed.source, speed.owner_id) == (t1, t2, "api", 3)
    with pytest.raises(ValueError):
        services.mark_speed(7, nonsense=t1)


def test_rule_set_versioning(setup: Setup) -> None:
    with pytest.raises(NotADraft):
        services.update_draft(actor=setup.admin, rule_set_id=setup.rule_set.pk, data={"name": "x"})
    draft = services.create_draft(actor=setup.admin, rule_set_id=setup.rule_set.pk)
    assert draft.number == setup.rule_set.number + 1 and draft.rules.count() == 3
    with pytest.raises(InvalidRouting) as exc:
        services.update_draft(
            actor=setup.admin,
            rule_set_id=draft.pk,
            data={
                "rules": [
                    {
                        "name": "",
                        "action": "assign_pool",
                        "conditions": [{"field": "nope", "op": "equals", "value": "x"}],
                    },
                    {
                        "name": "ok",
                        "action": "assign_user",
                        "user_id": 999999,
                        "conditions": [{"field": "score", "op": "gte", "value": "many"}],
                    },
                ]
            },
        )
    assert set(exc.value.fields) == {
        "rules.0.name",
        "rules.0.pool_id",
        "rules.0.conditions.0.field",
        "rules.1.user_id",
        "rules.1.conditions.0.value",
    }
    services.publish_rule_set(actor=setup.admin, rule_set_id=draft.pk)
    statuses = dict(RuleSet.objects.values_list("pk", "status"))
    assert statuses == {setup.rule_set.pk: "archived", draft.pk: "published"}
    with pytest.raises(RoutingNotAllowed):
        services.create_draft(actor=setup.iberia_reps[0], rule_set_id=draft.pk)


def test_team_rule_set_takes_precedence(setup: Setup) -> None:
    draft = services.create_rule_set(actor=setup.admin, team_id=setup.americas.pk, name="Americas only")
    assert draft.rules.count() == 0  # no published rule set in this scope yet: empty
    services.update_draft(
        actor=setup.admin,
        rule_set_id=draft.pk,
        data={"default_action": "assign_user", "default_user_id": setup.americas_reps[1].pk},
    )
    services.publish_rule_set(actor=setup.admin, rule_set_id=draft.pk)
    result = intake(LeadFactory.create(country="ES", team=setup.americas))
    assert result is not None and result.owner_id == setup.americas_reps[1].pk


def test_on_grade_changed_routes_an_unowned_hot_lead(setup: Setup) -> None:
    from embudo.core import events as core_events
    from embudo.scoring.events import GradeChanged

    lead = LeadFactory.create(country="ES")
    event = core_events.publish(
        GradeChanged(lead_id=lead.pk, old_grade="warm", grade="hot", old_score=70, score=90, became_hot=True)
    )
    services.on_grade_changed(event_id=event.pk)
    services.on_grade_changed(event_id=event.pk)  # idempotent: routed once
    lead.refresh_from_db()
    assert lead.owner_id in {u.pk for u in setup.iberia_reps}
    assert Assignment.objects.filter(lead_id=lead.pk).get().trigger == "hot"
    hot_notes = [n for n in setup.notified if n["kind"] == "lead_hot"]
    assert [n["user_id"] for n in hot_notes] == [lead.owner_id]  # the second run: owned → owner told
    assert {"lead_id": lead.pk, "trigger": "hot"} in setup.clocks


def test_route_at_intake_query_budget(setup: Setup, django_assert_max_num_queries: Any) -> None:
    lead = LeadFactory.create(country="ES")
    with django_assert_max_num_queries(14):
        result = intake(lead)
    assert result is not None and result.owner_id is not None


def test_candidates_snapshot_is_one_query(setup: Setup, django_assert_num_queries: Any) -> None:
    pool = setup.pools["iberia"]
    PoolMember.objects.filter(pool=pool).update(capacity=10)
    with django_assert_num_queries(1):
        candidates = selectors.pool_candidates(pool, at=datetime.now(UTC))
    assert len(candidates) == 3 and all(c.capacity == 10 for c in candidates)


def test_demo_seed_is_idempotent_and_routes(db: None) -> None:
    from embudo.accounts.tests.factories import TeamFactory, UserFactory
    from embudo.routing import demo

    teams = {
        "Iberia": TeamFactory.create(name="Iberia", slug="iberia", time_zone="Europe/Madrid"),
        "Americas": TeamFactory.create(name="Americas", slug="americas", time_zone="America/Mexico_City"),
    }
    roles = {"admin": "admin", "manager": "manager", "lucia": "sales_rep", "diego": "sales_rep", "emma": "sales_rep"}
    users = {f"{n}@embudo.demo": UserFactory.create(email=f"{n}@embudo.demo", role=r) for n, r in roles.items()}
    demo.seed_demo(teams=teams, users=users)
    demo.seed_demo(teams=teams, users=users)
    assert RuleSet.objects.count() == 1 and Pool.objects.count() == 3
    with time_machine.travel(MONDAY_NOON_MADRID, tick=False):
        result = intake(LeadFactory.create(country="ES"))
    assert result is not None and result.owner_id == users["lucia@embudo.demo"].pk


def test_lifecycle_and_status_changes_reach_the_sla_clocks(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    from embudo.core import events as core_events
    from embudo.leads.events import LeadUpdated
    from embudo.routing import tasks
    from embudo.scoring.events import LifecycleChanged
    from embudo.sla import services as sla_services

    touches: list[dict[str, Any]] = []
    monkeypatch.setattr(sla_services, "record_touch", lambda **kw: touches.append(kw))
    lead = LeadFactory.create(country="ES")
    rep = setup.iberia_reps[0]
    by_rule = core_events.publish(LifecycleChanged(lead_id=lead.pk, old_stage="lead", stage="mql", rule="threshold"))
    tasks.on_lifecycle_changed(event_id=by_rule.pk)
    assert setup.clocks[-1] == {"lead_id": lead.pk, "trigger": "mql"} and touches == []
    by_rep = core_events.publish(LifecycleChanged(lead_id=lead.pk, actor_id=rep.pk, old_stage="mql", stage="sql"))
    tasks.on_lifecycle_changed(event_id=by_rep.pk)
    assert setup.clocks[-1] == {"lead_id": lead.pk, "trigger": "sql"}
    assert [(t["kind"], t["actor_id"]) for t in touches] == [("stage_change", rep.pk)]
    status = core_events.publish(LeadUpdated(lead_id=lead.pk, actor_id=rep.pk, changes={"status": ["new", "working"]}))
    tasks.on_lead_updated(event_id=status.pk)
    owner = core_events.publish(LeadUpdated(lead_id=lead.pk, actor_id=rep.pk, changes={"owner_id": [None, rep.pk]}))
    tasks.on_lead_updated(event_id=owner.pk)
    assert [t["kind"] for t in touches] == ["stage_change", "status_change"]
