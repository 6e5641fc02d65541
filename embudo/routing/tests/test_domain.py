"""Pure routing logic: working hours, eligibility, rule evaluation, fair picking."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from embudo.core.domain import conditions as cond
from embudo.routing.domain import eligibility, fairness, rules
from embudo.routing.domain.schedule import ScheduleError, office_hours, on_shift, parse_hours, valid_time_zone


def test_on_shift_uses_the_reps_time_zone() -> None:
    hours = office_hours()
    # Monday 2026-11-23 08:30 UTC is 09:30 in Madrid (UTC+1) and 02:30 in Mexico City (UTC-6).
    at = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert on_shift(hours, "Europe/Madrid", at)
    assert not on_shift(hours, "America/Mexico_City", at)
    # Saturday: nobody.
    assert not on_shift(hours, "Europe/Madrid", datetime(2026, 11, 28, 10, tzinfo=UTC))
    # The end is exclusive.
    assert not on_shift(hours, "UTC", datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    assert on_shift(hours, "UTC", datetime(2026, 11, 23, 17, 59, tzinfo=UTC))


def test_parse_hours_reports_field_errors() -> None:
    assert parse_hours({"mon": [["09:00", "13:00"], ["14:00", "24:00"]]}) == {
        "mon": [("09:00", "13:00"), ("14:00", "24:00")]
    }
    with pytest.raises(ScheduleError) as exc:
        parse_hours({"mon": [["18:00", "09:00"]], "xyz": [], "tue": [["9", "10:00"]]})
    assert set(exc.value.fields) == {"hours.mon.0", "hours.xyz", "hours.tue.0"}
    assert valid_time_zone("Europe/Madrid")
    assert not valid_time_zone("Mars/Olympus")


def test_skip_reasons_in_order() -> None:
    req = eligibility.Requirements(skills=frozenset({"enterprise"}), language="es")
    ok = eligibility.Candidate(1, 10, skills=frozenset({"enterprise"}), languages=frozenset({"es"}))
    assert eligibility.skip_reason(ok, req) is None
    cases: dict[str, dict[str, Any]] = {
        eligibility.INACTIVE_USER: {"user_active": False},
        eligibility.INACTIVE_MEMBER: {"member_active": False},
        eligibility.OUT_OF_OFFICE: {"out_of_office": True},
        eligibility.OFF_SHIFT: {"on_shift": False},
        eligibility.MISSING_SKILL: {"skills": frozenset()},
        eligibility.MISSING_LANGUAGE: {"languages": frozenset({"en"})},
        eligibility.AT_CAPACITY: {"open_leads": 5, "capacity": 5},
    }
    for reason, changes in cases.items():
        c = dataclasses.replace(ok, **changes)
        assert eligibility.skip_reason(c, req) == reason
    excluded = eligibility.Requirements(exclude_user_ids=frozenset({10}))
    assert eligibility.skip_reason(ok, excluded) == eligibility.EXCLUDED
    # Unlimited capacity never blocks; language not required when the pool does not ask for it.
    assert eligibility.skip_reason(eligibility.Candidate(1, 10, open_leads=10**6), eligibility.Requirements()) is None


candidate_st = st.builds(
    eligibility.Candidate,
    member_id=st.integers(1, 50),
    user_id=st.integers(1, 50),
    weight=st.integers(1, 10),
    user_active=st.booleans(),
    member_active=st.booleans(),
    on_shift=st.booleans(),
    out_of_office=st.booleans(),
    open_leads=st.integers(0, 20),
    capacity=st.none() | st.integers(0, 20),
    skills=st.frozensets(st.sampled_from(["a", "b", "c"])),
    languages=st.frozensets(st.sampled_from(["en", "es", "pt"])),
)
requirements_st = st.builds(
    eligibility.Requirements,
    skills=st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=2),
    language=st.sampled_from(["", "en", "es"]),
    exclude_user_ids=st.frozensets(st.integers(1, 50), max_size=3),
)


@given(
    st.lists(candidate_st, max_size=12, unique_by=lambda c: c.member_id),
    requirements_st,
    st.sampled_from(["round_robin", "weighted", "least_loaded"]),
    st.dictionaries(st.integers(1, 50), st.floats(-3, 3)),
)
def test_never_chooses_an_ineligible_rep(
    candidates: list[eligibility.Candidate], req: eligibility.Requirements, strategy: str, state: dict[int, float]
) -> None:
    eligible = eligibility.eligible(candidates, req)
    pick = fairness.choose(strategy, eligible, state)
    if not eligible:
        assert pick.member_id is None
        return
    chosen = next(c for c in candidates if c.member_id == pick.member_id)
    assert chosen.user_active and chosen.member_active and chosen.on_shift and not chosen.out_of_office
    assert chosen.capacity is None or chosen.open_leads < chosen.capacity
    assert req.skills <= chosen.skills
    assert not req.language or req.language in chosen.languages
    assert chosen.user_id not in req.exclude_user_ids
    if strategy == "least_loaded":
        assert chosen.open_leads == min(c.open_leads for c in eligible)


@settings(max_examples=60, deadline=None)
@example(weights=[1, 8, 2, 2, 2, 7, 2, 10], picks=155, away=0.69921875, seed=201)
@given(
    weights=st.lists(st.integers(1, 10), min_size=1, max_size=8),
    picks=st.integers(1, 1500),
    away=st.floats(0, 0.7),
    seed=st.integers(0, 2**32 - 1),
)
def test_picks_stay_within_two_leads_of_the_weights(weights: list[int], picks: int, away: float, seed: int) -> None:
    """Random weights and random ineligibility: every member's count stays within 2 leads of its fair
    share (Σ of w/W over the picks it was eligible for). With a fixed eligible set the deficit keeps it
    under 1; members leaving and rejoining can push it slightly past 1 (hypothesis found 1.016 with
    weights [1, 8, 2, 2, 2, 7, 2, 10] and 70 % absence), never near 2."""
    import random

    rng = random.Random(seed)
    members = dict(enumerate(weights, start=1))
    state: dict[int, float] = {}
    counts = dict.fromkeys(members, 0)
    fair = dict.fromkeys(members, 0.0)
    for _ in range(picks):
        eligible = {m: w for m, w in members.items() if rng.random() >= away}
        if not eligible:
            continue
        pick = fairness.smooth_pick(eligible, state)
        assert pick.member_id in eligible
        state = pick.state
        counts[pick.member_id] += 1
        total = sum(eligible.values())
        for m, w in eligible.items():
            fair[m] += w / total
        assert abs(sum(state.values())) < 1e-6
    for m in members:
        assert abs(counts[m] - fair[m]) <= 2.0, (m, counts[m], fair[m])


def test_round_robin_interleaves() -> None:
    state: dict[int, float] = {}
    order = []
    for _ in range(7):
        pick = fairness.smooth_pick({1: 5, 2: 1, 3: 1}, state)
        state = pick.state
        order.append(pick.member_id)
    assert order.count(1) == 5 and order.count(2) == 1 and order.count(3) == 1
    assert order[:2] != [1, 1] or order[2] != 1  # never three in a row: it is smooth


def test_first_rule_wins_and_preview_explains() -> None:
    spain = rules.Rule(
        1,
        "Spain",
        tuple(cond.parse([{"field": "country", "op": "in", "value": ["ES", "PT"]}])),
        "assign_pool",
        pool_id=1,
    )
    big = rules.Rule(
        2,
        "Big",
        tuple(cond.parse([{"field": "company.size", "op": "equals", "value": "1000+"}])),
        "assign_pool",
        pool_id=2,
    )
    record = {"country": "es", "company.size": "1000+"}
    assert rules.evaluate([spain, big], record).rule == spain
    assert rules.evaluate([big, spain], record).rule == big
    explained = rules.evaluate([spain, big], {"country": "MX"}, explain=True)
    assert explained.rule is None
    assert [c.matched for c in explained.checks] == [False, False]
    assert explained.checks[0].failed == ["country in es, pt"]
    assert rules.validate_action("assign_user", user_id=None, pool_id=None) == {"user_id": ["Choose a user."]}
    assert rules.validate_action("account_owner", user_id=None, pool_id=None) == {"pool_id": ["Choose a pool."]}
