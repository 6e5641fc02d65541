"""Pure scoring logic (no database): grades, decay, rounding, caps, fingerprints, validation."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.scoring.domain import rules as domain
from embudo.scoring.domain.validation import RuleError, parse_model, parse_rule

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIT_FIELDS = ["job_title", "company.size"]


@given(score=st.integers(-1000, 1000), warm=st.integers(-100, 100), gap=st.integers(0, 100))
def test_grades_follow_thresholds(score: int, warm: int, gap: int) -> None:
    grade = domain.grade_for(score, warm_min=warm, hot_min=warm + gap)
    assert grade == ("hot" if score >= warm + gap else "warm" if score >= warm else "cold")
    assert domain.GRADES.index(domain.grade_for(score + 1, warm_min=warm, hot_min=warm + gap)) >= domain.GRADES.index(
        grade
    )


def test_seed_thresholds() -> None:
    assert [domain.grade_for(s, warm_min=51, hot_min=81) for s in (0, 50, 51, 80, 81, 100)] == [
        "cold", "cold", "warm", "warm", "hot", "hot",
    ]  # fmt: skip


@given(
    decay=st.sampled_from(domain.DECAYS),
    days=st.integers(1, 365),
    age=st.floats(0, 1000),
    later=st.floats(0, 100),
)
def test_decay_weights_are_in_0_1_and_never_grow(decay: str, days: int, age: float, later: float) -> None:
    w = domain.decay_weight(decay, days, age)
    assert 0.0 <= w <= 1.0
    assert domain.decay_weight(decay, days, age + later) <= w
    assert domain.decay_weight(decay, days, 0.0) == 1.0


def test_half_life_and_linear() -> None:
    assert domain.decay_weight("half_life", 10, 10.0) == 0.5
    assert domain.decay_weight("half_life", 10, 20.0) == 0.25
    assert domain.decay_weight("linear", 10, 5.0) == 0.5
    assert domain.decay_weight("linear", 10, 12.0) == 0.0


@given(x=st.floats(-10_000, 10_000))
def test_round_half_up(x: float) -> None:
    r = domain.round_half_up(x)
    assert r - 0.5 <= x < r + 0.5
    assert domain.round_half_up(2.5) == 3 and domain.round_half_up(-2.5) == -2


def _rule(**kw: object) -> domain.RuleSpec:
    base: dict[str, object] = {"key": uuid.uuid4(), "kind": "engagement", "label": "r", "points": 10,
                               "event_type": "page_view"}  # fmt: skip
    return domain.RuleSpec(**{**base, **kw})  # type: ignore[arg-type]


@given(
    points=st.integers(-100, 100).filter(bool),
    cap=st.integers(1, 200),
    ages=st.lists(st.integers(0, 100 * 86400), max_size=30),
    repeatable=st.booleans(),
    decay=st.sampled_from(domain.DECAYS),
)
def test_engagement_is_bounded(points: int, cap: int, ages: list[int], repeatable: bool, decay: str) -> None:
    rule = _rule(points=points, repeatable=repeatable, max_points=cap, decay=decay, decay_days=7)
    occurrences: list[tuple[str, datetime, dict[str, object]]] = [
        ("page_view", NOW - timedelta(seconds=a), {}) for a in ages
    ]
    value = domain.evaluate_engagement(rule, occurrences, now=NOW)
    bound = cap if repeatable else abs(points)
    assert abs(value) <= bound
    if not ages:
        assert value == 0
    if decay == "none" and ages:
        assert value == (max(-cap, min(cap, points * len(ages))) if repeatable else points)


def test_engagement_filters_type_window_and_properties() -> None:
    rule = _rule(
        points=15, window_days=30, conditions=(domain.cond.Condition("properties.url", "contains", ("/pricing",)),)
    )
    assert (
        domain.evaluate_engagement(rule, [("page_view", NOW - timedelta(days=31), {"url": "/pricing"})], now=NOW) == 0
    )
    assert domain.evaluate_engagement(rule, [("email_clicked", NOW, {"url": "/pricing"})], now=NOW) == 0
    assert domain.evaluate_engagement(rule, [("page_view", NOW, {"url": "/blog"})], now=NOW) == 0
    assert domain.evaluate_engagement(rule, [("page_view", NOW, {"url": "/PRICING"})], now=NOW) == 15
    once = _rule(points=20, decay="linear", decay_days=10)
    occurrences: list[tuple[str, datetime, dict[str, object]]] = [
        ("page_view", NOW - timedelta(days=d), {}) for d in (8, 5)
    ]
    assert domain.evaluate_engagement(once, occurrences, now=NOW) == 10  # the latest occurrence counts


def test_fingerprint_ignores_labels_but_not_definitions() -> None:
    key = uuid.uuid4()
    a = _rule(key=key, label="A")
    assert a.fingerprint() == _rule(key=key, label="B").fingerprint()
    assert a.fingerprint() != _rule(key=key, points=11).fingerprint()
    assert a.fingerprint() != _rule(key=key, decay="linear", decay_days=3).fingerprint()
    assert _rule(decay="linear", decay_days=3).time_dependent
    assert _rule(window_days=3).time_dependent
    assert not _rule().time_dependent


@given(
    kinds=st.lists(st.sampled_from(["fit", "engagement"]), max_size=6),
    inactivity_days=st.integers(0, 30),
    inactivity_points=st.integers(-20, 20),
)
def test_contribution_keys_are_the_fingerprints_keys(kinds: list[str], inactivity_days: int,
                                                     inactivity_points: int) -> None:  # fmt: skip
    spec = domain.ModelSpec(rules=tuple(_rule(kind=kind) for kind in kinds), inactivity_days=inactivity_days,
                            inactivity_points=inactivity_points)  # fmt: skip
    assert spec.contribution_keys() == set(spec.fingerprints())


def test_validation_messages_are_field_level() -> None:
    with pytest.raises(RuleError) as error:
        parse_rule({"kind": "engagement", "label": "", "points": 0, "event_type": "x y", "decay": "linear"},
                   where="rules.3", fit_fields=FIT_FIELDS)  # fmt: skip
    assert set(error.value.fields) == {"rules.3.label", "rules.3.points", "rules.3.event_type", "rules.3.decay_days"}
    with pytest.raises(RuleError) as error:
        parse_model(
            rules=[{"kind": "engagement", "label": "p", "points": 5, "event_type": "page_view",
                    "conditions": [{"field": "url", "op": "contains", "value": "x"}]}],
            fit_fields=FIT_FIELDS,
        )  # fmt: skip
    assert list(error.value.fields) == ["rules.0.conditions.0.field"]


@given(points=st.lists(st.integers(-400, 400).filter(bool), min_size=1, max_size=6))
def test_models_cannot_exceed_the_score_range(points: list[int]) -> None:
    raw = [{"kind": "fit", "label": f"r{i}", "points": p} for i, p in enumerate(points)]
    total = sum(abs(p) for p in points)
    if total > domain.SCORE_LIMIT:
        with pytest.raises(RuleError):
            parse_model(rules=raw, fit_fields=FIT_FIELDS)
    else:
        model = parse_model(rules=raw, fit_fields=FIT_FIELDS)
        assert domain.max_abs_total(model) == total
        assert not math.isnan(total)
