"""The priority order and snooze quick picks: pure functions, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.inbox.domain import priority
from embudo.inbox.domain import snooze as snooze_domain
from embudo.inbox.domain.priority import Candidate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

deadlines = st.one_of(st.none(), st.integers(-600, 600).map(lambda m: NOW + timedelta(minutes=m)))
candidates = st.lists(
    st.builds(
        Candidate,
        lead_id=st.integers(1, 10_000),
        grade=st.sampled_from(["cold", "warm", "hot"]),
        score=st.integers(-50, 200),
        updated_at=st.integers(0, 1000).map(lambda m: NOW - timedelta(minutes=m)),
        sla_due_at=deadlines,
    ),
    max_size=40,
    unique_by=lambda c: c.lead_id,
)


@given(candidates, st.randoms(use_true_random=False))
def test_order_is_total_and_independent_of_input_order(cands: list[Candidate], rnd: random.Random) -> None:
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    assert priority.prioritize(shuffled, NOW) == priority.prioritize(cands, NOW)
    keys = [priority.priority_key(c, NOW) for c in cands]
    assert len(set(keys)) == len(keys)  # no ties: the id ends every key


@given(candidates)
def test_urgent_before_hot_before_the_rest(cands: list[Candidate]) -> None:
    ordered = priority.prioritize(cands, NOW)
    urgent = [priority.is_urgent(c.sla_due_at, NOW) for c in ordered]
    assert urgent == sorted(urgent, reverse=True)  # every overdue/due-soon lead before any other
    rest = [c for c in ordered if not priority.is_urgent(c.sla_due_at, NOW)]
    hot = [c.grade == "hot" for c in rest]
    assert hot == sorted(hot, reverse=True)


@given(candidates)
def test_within_a_bucket_deadline_then_score(cands: list[Candidate]) -> None:
    ordered = priority.prioritize(cands, NOW)
    for a, b in zip(ordered, ordered[1:], strict=False):
        same_bucket = (priority.is_urgent(a.sla_due_at, NOW), a.grade == "hot") == (
            priority.is_urgent(b.sla_due_at, NOW),
            b.grade == "hot",
        )
        if same_bucket and a.sla_due_at is None and b.sla_due_at is None:
            assert a.score >= b.score
        if same_bucket and a.sla_due_at is not None and b.sla_due_at is not None:
            assert a.sla_due_at <= b.sla_due_at
        if same_bucket and b.sla_due_at is not None:
            assert a.sla_due_at is not None  # leads with a deadline first


def test_overdue_cold_lead_beats_a_hot_lead_without_sla() -> None:
    hot = Candidate(1, "hot", 150, NOW)
    overdue = Candidate(2, "cold", 0, NOW, sla_due_at=NOW - timedelta(minutes=5))
    later = Candidate(3, "hot", 10, NOW, sla_due_at=NOW + timedelta(hours=3))
    assert [c.lead_id for c in priority.prioritize([hot, later, overdue], NOW)] == [2, 3, 1]


def test_sla_state_boundaries() -> None:
    assert priority.sla_state(None, NOW) == "none"
    assert priority.sla_state(NOW, NOW) == "breached"
    assert priority.sla_state(NOW + timedelta(minutes=60), NOW) == "due_soon"
    assert priority.sla_state(NOW + timedelta(minutes=61), NOW) == "running"


MADRID = ZoneInfo("Europe/Madrid")


def test_snooze_picks() -> None:
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
    assert snooze_domain.until_for("1h", monday, MADRID) == monday + timedelta(hours=1)
    assert snooze_domain.until_for("tomorrow", monday, MADRID) == datetime(2026, 11, 24, 9, 0, tzinfo=MADRID)
    assert snooze_domain.until_for("next_week", monday, MADRID) == datetime(2026, 11, 30, 9, 0, tzinfo=MADRID)
    friday_night = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # Saturday 00:30 in Madrid
    assert snooze_domain.until_for("tomorrow", friday_night, MADRID) == datetime(2026, 11, 29, 9, 0, tzinfo=MADRID)
    with pytest.raises(snooze_domain.SnoozeError):
        snooze_domain.until_for("someday", monday, MADRID)


def test_tomorrow_at_nine_survives_a_dst_change() -> None:
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday; clocks go forward on Sunday 29 March
    until = snooze_domain.until_for("tomorrow", before, MADRID)
    assert until.astimezone(MADRID).hour == 9 and until.astimezone(MADRID).day == 29
    assert until.utcoffset() == timedelta(hours=2)


@given(st.integers(-10_000, 10_000))
def test_check_until(minutes: int) -> None:
    until = NOW + timedelta(minutes=minutes)
    problem = snooze_domain.check_until(until, NOW)
    assert (problem is None) == (minutes > 0)
    assert snooze_domain.check_until(NOW.replace(tzinfo=None) + timedelta(hours=1), NOW) is not None
