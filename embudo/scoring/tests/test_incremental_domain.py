"""Incremental engagement points (new events + stored points, no history) agree with the full evaluation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.core.domain import conditions as cond
from embudo.scoring.domain import rules as domain

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TYPES = ["page_view", "webinar_attended"]
CONDITIONS = [
    (),
    (cond.Condition("properties.url", "contains", "pricing"),),
    (cond.Condition("properties.n", "gte", 3),),
]


@st.composite
def rules(draw: Any) -> domain.RuleSpec:
    decay = draw(st.sampled_from(["none", "linear", "half_life"]))
    repeatable = draw(st.booleans())
    return domain.RuleSpec(
        key=uuid.UUID(int=1),
        kind=domain.ENGAGEMENT,
        label="r",
        points=draw(st.integers(-40, 40).filter(bool)),
        conditions=draw(st.sampled_from(CONDITIONS)),
        event_type=draw(st.sampled_from(TYPES)),
        repeatable=repeatable,
        max_points=draw(st.none() | st.integers(1, 90)) if repeatable else None,
        window_days=draw(st.none() | st.integers(1, 60)),
        decay=decay,
        decay_days=draw(st.integers(1, 40)) if decay != "none" else None,
    )


def events(latest: datetime) -> st.SearchStrategy[list[tuple[str, datetime, dict[str, Any]]]]:
    return st.lists(
        st.tuples(
            st.sampled_from(TYPES),
            st.integers(0, 90 * 86400).map(lambda s: latest - timedelta(seconds=s)),
            st.fixed_dictionaries({"url": st.sampled_from(["/pricing", "/blog", ""]), "n": st.integers(0, 6)}),
        ),
        max_size=6,
    )


@settings(max_examples=400, deadline=None)
@given(
    rule=rules(),
    earlier_s=st.integers(0, 20 * 86400),
    history=events(NOW - timedelta(days=20)),
    fresh=events(NOW),
)
def test_incremental_points_equal_the_full_evaluation_whenever_given(
    rule: domain.RuleSpec, earlier_s: int, history: list[Any], fresh: list[Any]
) -> None:
    # The stored points were computed at some earlier moment from the events known then.
    then = NOW - timedelta(seconds=earlier_s)
    known = [e for e in history if e[1] <= then]
    stored = domain.evaluate_engagement(rule, known, now=then)
    touched, points = domain.incremental_engagement(rule, stored, fresh, now=NOW)
    matching = domain.evaluate_engagement(rule, fresh, now=NOW) != 0 or any(e[0] == rule.event_type for e in fresh)
    if not touched:
        assert points == stored
        assert domain.evaluate_engagement(rule, fresh, now=NOW) == 0
        return
    assert matching
    if points is not None:
        assert points == domain.evaluate_engagement(rule, known + fresh, now=NOW)


def test_the_usual_cases_need_no_history() -> None:
    webinar = domain.RuleSpec(key=uuid.UUID(int=2), kind=domain.ENGAGEMENT, label="w", points=25,
                              event_type="webinar_attended", repeatable=True, max_points=60)  # fmt: skip
    pricing = domain.RuleSpec(key=uuid.UUID(int=3), kind=domain.ENGAGEMENT, label="p", points=15,
                              event_type="page_view", decay="half_life", decay_days=60,
                              conditions=(cond.Condition("properties.url", "contains", "/pricing"),))  # fmt: skip
    now_webinar: list[tuple[str, datetime, dict[str, Any]]] = [("webinar_attended", NOW, {})]
    assert domain.incremental_engagement(webinar, 25, now_webinar, now=NOW) == (True, 50)
    assert domain.incremental_engagement(webinar, 50, now_webinar, now=NOW) == (True, 60)  # capped
    assert domain.incremental_engagement(webinar, 60, now_webinar, now=NOW) == (True, 60)
    assert domain.incremental_engagement(webinar, 30, now_webinar, now=NOW) == (True, None)  # not 25 × n
    assert domain.incremental_engagement(webinar, 25, [("page_view", NOW, {})], now=NOW) == (False, 25)
    visit = [("page_view", NOW, {"url": "https://x.example/pricing"})]
    assert domain.incremental_engagement(pricing, 9, visit, now=NOW) == (True, 15)  # the new visit is the latest
    old_visit = [("page_view", NOW - timedelta(days=120), {"url": "/pricing"})]
    assert domain.incremental_engagement(pricing, 9, old_visit, now=NOW) == (True, None)  # a late, older one
    model = domain.ModelSpec(rules=(), inactivity_days=30, inactivity_points=-10)
    assert domain.incremental_inactivity(model, -10, [NOW - timedelta(days=1)], now=NOW) == 0
    assert domain.incremental_inactivity(model, -10, [NOW - timedelta(days=31)], now=NOW) == -10
