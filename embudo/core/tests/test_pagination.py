"""Keyset pagination: opaque cursors and seeking past ties in the sort key."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.core.models import DomainEvent
from embudo.core.pagination import decode_cursor, encode_cursor, seek

cursor_values = st.lists(
    st.integers() | st.text() | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False),
    max_size=4,
)


@given(cursor_values)
def test_cursor_round_trip(values: list[object]) -> None:
    cursor = encode_cursor(values)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == values


@given(st.datetimes(timezones=st.just(UTC)), st.integers(min_value=1, max_value=2**63 - 1))
def test_datetime_cursor_keeps_microseconds(moment: datetime, pk: int) -> None:
    decoded = decode_cursor(encode_cursor([moment, pk]))
    assert datetime.fromisoformat(decoded[0]) == moment
    assert decoded[1] == pk


@given(st.text())
def test_decoding_garbage_raises_value_error_only(garbage: str) -> None:
    with contextlib.suppress(ValueError):
        decode_cursor(garbage)


def make_events(n: int, *, distinct_times: int) -> list[DomainEvent]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return DomainEvent.objects.bulk_create(
        DomainEvent(type="test.Tie", occurred_at=base + timedelta(seconds=i % distinct_times)) for i in range(n)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_seek_walks_through_ties_without_gaps_or_duplicates(descending: bool, limit: int) -> None:
    make_events(20, distinct_times=3)  # seven rows share each timestamp
    expected = list(
        DomainEvent.objects.order_by(*(["-occurred_at", "-id"] if descending else ["occurred_at", "id"])).values_list(
            "id", flat=True
        )
    )

    seen: list[int] = []
    cursor = None
    while True:
        page = seek(DomainEvent.objects.all(), key="occurred_at", descending=descending, cursor=cursor, limit=limit)
        seen.extend(row.pk for row in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == expected


@pytest.mark.django_db
def test_last_full_page_has_no_next_cursor() -> None:
    make_events(4, distinct_times=4)
    page = seek(DomainEvent.objects.all(), key="occurred_at", descending=True, cursor=None, limit=4)
    assert len(page.items) == 4
    assert page.next_cursor is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    ["%%%", encode_cursor([]), encode_cursor(["yesterday", 1]), encode_cursor(["2026-01-01T00:00:00Z", None])],
)
def test_seek_rejects_invalid_cursors_before_sql(cursor: str) -> None:
    with pytest.raises(ValueError):
        seek(DomainEvent.objects.all(), key="occurred_at", descending=True, cursor=cursor, limit=5)


@pytest.mark.django_db
def test_seek_refuses_a_nullable_sort_key() -> None:
    with pytest.raises(TypeError):
        seek(DomainEvent.objects.all(), key="lead_id", descending=True, cursor=None, limit=5)
