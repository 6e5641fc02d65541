from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from embudo.pipeline.domain import stages as domain
from embudo.pipeline.domain.stages import Kind, StageRef

NEW = StageRef(id=1, key="new", kind="open")
CONTACTED = StageRef(id=2, key="contacted", kind="open")
WON = StageRef(id=5, key="won", kind="won")
LOST = StageRef(id=6, key="lost", kind="lost")


def test_moving_to_lost_needs_a_reason() -> None:
    problem = domain.check_move(current=NEW, target=LOST, lost_reason="  ")
    assert problem is not None and problem.field == "lost_reason"
    assert domain.check_move(current=NEW, target=LOST, lost_reason="No budget") is None


def test_same_stage_and_inactive_stage_are_refused() -> None:
    assert domain.check_move(current=NEW, target=NEW, lost_reason="") is not None
    inactive = StageRef(id=9, key="x", kind="open", active=False)
    problem = domain.check_move(current=NEW, target=inactive, lost_reason="")
    assert problem is not None and problem.field == "stage_id"


def test_long_reason_is_refused() -> None:
    problem = domain.check_move(current=NEW, target=LOST, lost_reason="x" * 201)
    assert problem is not None and problem.field == "lost_reason"


def test_effects_of_won_lost_and_reopen() -> None:
    assert domain.effect_of(old_kind="open", new_kind="won") == domain.Effect("won", "customer", True)
    assert domain.effect_of(old_kind="open", new_kind="lost") == domain.Effect("lost", None, True)
    assert domain.effect_of(old_kind="won", new_kind="lost").lifecycle == "opportunity"
    assert domain.effect_of(old_kind="won", new_kind="open") == domain.Effect("", "opportunity", False)
    assert domain.effect_of(old_kind="lost", new_kind="open") == domain.Effect("", None, False)
    assert domain.effect_of(old_kind="open", new_kind="open") == domain.Effect(None, None, False)
    assert domain.effect_of(old_kind=None, new_kind="open").outcome is None


@given(old=st.sampled_from([None, *Kind]), new=st.sampled_from(list(Kind)))
def test_closing_always_sets_an_outcome_and_open_to_open_never_does(old: str | None, new: str) -> None:
    effect = domain.effect_of(old_kind=old, new_kind=new)
    if new in (Kind.WON, Kind.LOST):
        assert effect.outcome == new and effect.closes
    elif old in (Kind.WON, Kind.LOST):
        assert effect.outcome == "" and not effect.closes
    else:
        assert effect.outcome is None and effect.lifecycle is None


def test_parse_amount() -> None:
    assert domain.parse_amount("") == (None, None)
    assert domain.parse_amount("1.234,5")[0] == Decimal("1234.50")
    assert domain.parse_amount("1234,5")[0] == Decimal("1234.50")
    assert domain.parse_amount("12,500")[0] == Decimal("12500.00")
    assert domain.parse_amount("1,250,000.5")[0] == Decimal("1250000.50")
    assert domain.parse_amount("12500.456")[0] == Decimal("12500.46")
    assert domain.parse_amount("-1")[1] is not None
    assert domain.parse_amount("abc")[1] is not None
    assert domain.parse_amount("NaN")[1] is not None
    assert domain.parse_amount("1e20")[1] is not None


@given(st.text(max_size=80))
def test_parse_amount_never_crashes(text: str) -> None:
    value, error = domain.parse_amount(text)
    assert (value is None) or (error is None and Decimal(0) <= value <= domain.MAX_AMOUNT)


@given(st.text(max_size=80), st.sets(st.text(min_size=1, max_size=10), max_size=5))
def test_unique_keys_are_slugs_not_taken(name: str, taken: set[str]) -> None:
    key = domain.unique_key(name, taken)
    assert key not in taken
    assert key.replace("_", "").isalnum() and key == key.lower()


def test_first_open_and_same_key_or_first() -> None:
    stages = [StageRef(id=1, key="new", kind="open", active=False), CONTACTED, WON, LOST]
    assert domain.first_open(stages) == CONTACTED
    assert domain.same_key_or_first(stages, "won") == WON
    assert domain.same_key_or_first(stages, "gone") == CONTACTED


def test_days_between_and_weighted() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert domain.days_between(start, start + timedelta(days=3, hours=5)) == 3
    assert domain.days_between(start, start - timedelta(days=1)) == 0
    assert domain.weighted(Decimal("1000"), 35) == Decimal("350.00")
