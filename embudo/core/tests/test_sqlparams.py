"""Array literals for hot-path statements: PostgreSQL reads back exactly the values given."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.core.sqlparams import int_array, text_array, uuid_array

pytestmark = pytest.mark.django_db


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")), max_size=8))
def test_text_array_round_trips_any_text(values: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values


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
