"""Due buckets, quick picks, reminder times and rule delays: pure, DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.followups import domain
from embudo.followups.domain import Bucket

MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Madrid


def madrid(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def test_buckets_follow_the_local_day() -> None:
    assert domain.bucket_of(NOW - timedelta(minutes=1), NOW, MADRID) is Bucket.OVERDUE
    assert domain.bucket_of(madrid(2026, 11, 23, 23, 59), NOW, MADRID) is Bucket.TODAY
    assert domain.bucket_of(madrid(2026, 11, 24, 0, 0), NOW, MADRID) is Bucket.UPCOMING
    assert domain.bucket_of(madrid(2026, 11, 30, 23, 59), NOW, MADRID) is Bucket.UPCOMING
    assert domain.bucket_of(madrid(2026, 12, 1, 0, 0), NOW, MADRID) is Bucket.LATER
    # 23:30 UTC on Monday is already Tuesday in Madrid, still Monday in Mexico City.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert domain.bucket_of(late, NOW, MADRID) is Bucket.UPCOMING
    assert domain.bucket_of(late, NOW, MEXICO) is Bucket.TODAY


def test_day_bounds_on_dst_days_are_23_and_25_hours_long() -> None:
    spring = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    autumn = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    start, end = domain.day_bounds(spring, MADRID)
    assert end - start == timedelta(hours=23)
    start, end = domain.day_bounds(autumn, MADRID)
    assert end - start == timedelta(hours=25)
    assert start.astimezone(MADRID).hour == 0 and end.astimezone(MADRID).hour == 0


def test_quick_picks() -> None:
    assert domain.quick_pick("in_1h", datetime(2026, 11, 23, 9, 2, 30, tzinfo=UTC), MADRID) == datetime(
        2026, 11, 23, 10, 5, tzinfo=UTC
    )
    assert domain.quick_pick("tomorrow", NOW, MADRID) == madrid(2026, 11, 24, 9, 0)
    assert domain.quick_pick("in_3_days", NOW, MADRID) == madrid(2026, 11, 26, 9, 0)
    assert domain.quick_pick("next_week", NOW, MADRID) == madrid(2026, 11, 30, 9, 0)  # next Monday
    with pytest.raises(ValueError, match="unknown"):
        domain.quick_pick("someday", NOW, MADRID)


def test_tomorrow_at_nine_stays_nine_across_the_dst_change() -> None:
    saturday_evening = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # clocks go forward that night
    due = domain.quick_pick("tomorrow", saturday_evening, MADRID)
    assert due.astimezone(MADRID).hour == 9
    assert due == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # CEST: UTC+2
    assert domain.snooze("tomorrow", saturday_evening, MADRID) == due
    assert domain.snooze("1h", saturday_evening, MADRID) == saturday_evening + timedelta(hours=1)


def test_reminder_times() -> None:
    due = NOW + timedelta(hours=2)
    assert domain.remind_at_for(due, NOW, 0) == due
    assert domain.remind_at_for(due, NOW, 30) == due - timedelta(minutes=30)
    assert domain.remind_at_for(due, NOW, 24 * 60) == NOW  # the reminder time passed: remind now
    assert domain.remind_at_for(NOW - timedelta(minutes=1), NOW, 0) is None  # logged after the fact
    assert domain.remind_at_for(NOW, NOW, 0) is None


def test_rule_delay_keeps_the_wall_time_across_dst() -> None:
    entered = madrid(2026, 3, 27, 16, 0)  # Friday 16:00 CET
    due = domain.add_delay(entered, MADRID, days=3)
    assert due.astimezone(MADRID).replace(tzinfo=None) == datetime(2026, 3, 30, 16, 0)
    assert due - entered == timedelta(days=3) - timedelta(hours=1)
    assert domain.add_delay(entered, MADRID, hours=5) == entered + timedelta(hours=5)


def test_a_wall_time_in_the_spring_gap_resolves_to_a_real_instant() -> None:
    moment = domain.at_local(datetime(2026, 3, 29).date(), datetime(2026, 3, 29, 2, 30).time(), MADRID)
    assert moment.tzinfo is UTC
    assert moment.astimezone(MADRID).hour in (1, 3)


moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
zones = st.sampled_from([MADRID, MEXICO, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"), UTC])


@given(due=moments, now=moments, tz=zones)
def test_buckets_partition_time(due: datetime, now: datetime, tz: ZoneInfo) -> None:
    bucket = domain.bucket_of(due, now, tz)
    assert (bucket is Bucket.OVERDUE) == (due < now)
    w = domain.window(now, tz)
    assert w.today_start <= now < w.tomorrow_start <= w.upcoming_end
    if bucket is Bucket.TODAY:
        assert domain.local_date(due, tz) == domain.local_date(now, tz)


@given(start=moments, days=st.integers(0, 400), tz=zones)
def test_add_delay_moves_whole_local_days(start: datetime, days: int, tz: ZoneInfo) -> None:
    due = domain.add_delay(start, tz, days=days)
    assert domain.local_date(due, tz) - domain.local_date(start, tz) in (timedelta(days=days), timedelta(days=days + 1))
    assert abs((due - start) - timedelta(days=days)) <= timedelta(hours=3)


@given(now=moments, tz=zones, pick=st.sampled_from(domain.QUICK_PICKS))
def test_quick_picks_are_in_the_future(now: datetime, tz: ZoneInfo, pick: str) -> None:
    assert domain.quick_pick(pick, now, tz) > now
