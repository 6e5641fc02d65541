"""Array literals for hot-path statements: PostgreSQL reads back exactly the values given."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.core.sqlparams import array_or_nulls, int_array, jsonb_array, text_array, uuid_array

pytestmark = pytest.mark.django_db


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")), max_size=8))
def test_text_array_round_trips_any_text(values: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values


_JSON_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_JSON, max_size=6))
def test_jsonb_array_round_trips_json_values(values: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_jsonb(%s::jsonb[])::text", [jsonb_array(values)])
        assert json.loads(cursor.fetchone()[0]) == values


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20), st.lists(st.uuids(), max_size=5))
def test_int_and_uuid_arrays_round_trip(ints: list[int], uuids: list[uuid.UUID]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[], %s::uuid[]", [int_array(ints), uuid_array(uuids)])
        assert cursor.fetchone() == (ints, uuids)


def test_a_uuid_array_rejects_what_is_not_a_uuid() -> None:
    with pytest.raises(ValueError):
        uuid_array(["1; DROP TABLE leads_lead"])
    assert uuid_array([str(uuid.UUID(int=1))]) == "{00000000-0000-0000-0000-000000000001}"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=6),
    st.lists(st.none() | st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")), max_size=6),
    st.lists(
        st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])),
        max_size=4,
    ),
)
def test_arrays_with_nulls_round_trip(
    ints: list[int | None], texts: list[str | None], moments: list[datetime | None]
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::bigint[], %s::text[], %s::timestamptz[]",
            [array_or_nulls(ints), array_or_nulls(texts), array_or_nulls(moments)],
        )
        assert cursor.fetchone() == (ints, texts, moments)  # aware datetimes compare as instants


def test_the_text_null_stays_a_text_and_other_types_are_refused() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [array_or_nulls(["NULL", None])])
        assert cursor.fetchone()[0] == ["NULL", None]
    wrong_values: list[Any] = [True, 1.5, b"x"]
    for wrong in wrong_values:
        with pytest.raises(TypeError):
            array_or_nulls([wrong])
