"""``core.domain.conditions``: ``to_sql`` on PostgreSQL agrees with ``matches`` in Python on random records,
including non-ASCII text (the cluster's ``lower()`` and Python's ``str.lower`` must agree)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embudo.core.domain import conditions as cond

pytestmark = pytest.mark.django_db

WORDS = ["España", "ESPAÑA", "españa", "Ñandú", "ñANDÚ", "straße", "Ärger", "director", "Head of IT", "ΟΔΟΣ",
         "οδος", "İstanbul", "istanbul", "100", "7.5", "-3", "", " a_b%c ", "x\\y"]  # fmt: skip
FIELDS = ("a", "b", "n")
COLUMNS = {"a": "r.a", "b": "r.b", "n": "r.n"}

# PostgreSQL text holds no NUL; surrogates do not encode.
chars = st.characters(codec="utf-8", blacklist_characters="\x00")
values = st.one_of(st.none(), st.sampled_from(WORDS), st.text(chars, max_size=6), st.integers(-5, 200).map(str))
records = st.fixed_dictionaries(dict.fromkeys(FIELDS, values))
needle = st.one_of(st.sampled_from([w for w in WORDS if w.strip()]), st.text(chars, min_size=1, max_size=3))


@st.composite
def conditions(draw: Any) -> dict[str, Any]:
    op = draw(st.sampled_from(cond.OPERATORS))
    field = draw(st.sampled_from(FIELDS))
    if op in cond.PRESENCE_OPS:
        value: Any = None
    elif op == "between":
        low = draw(st.integers(-10, 150))
        value = [low, low + draw(st.integers(0, 100))]
    elif op in ("gte", "lte"):
        value = draw(st.integers(-10, 150))
    elif op in ("in", "not_in", "contains", "not_contains", "starts_with"):
        value = draw(st.lists(needle, min_size=1, max_size=3))
    else:
        value = draw(needle)
    return {"field": field, "op": op, "value": value}


def _sql_matches(conditions: list[cond.Condition], rows: list[dict[str, Any]]) -> list[bool]:
    predicate, params = cond.to_sql(conditions, COLUMNS)
    values_sql = ", ".join("(%s::int, %s::text, %s::text, %s::text)" for _ in rows)
    row_params = [x for i, r in enumerate(rows) for x in (i, r["a"], r["b"], r["n"])]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.i FROM (VALUES {values_sql}) AS r(i, a, b, n) WHERE {predicate}", row_params + params)  # noqa: S608
        hits = {row[0] for row in cursor.fetchall()}
    return [i in hits for i in range(len(rows))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(conditions(), min_size=1, max_size=2), rows=st.lists(records, min_size=1, max_size=8))
def test_to_sql_agrees_with_matches(raw: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    try:
        parsed = cond.parse(raw)
    except cond.ConditionError:
        return
    assert _sql_matches(parsed, rows) == [cond.matches(parsed, r) for r in rows]


@pytest.mark.parametrize(
    ("value", "record"),
    [
        ("ESPAÑA", "españa"),
        ("Ñandú", "ÑANDÚ"),
        ("straße", "STRASSE"),
        ("İstanbul", "istanbul"),
        ("İstanbul", "İSTANBUL"),
        ("ΟΔΟΣ", "οδοσ"),
        ("οδος", "ΟΔΟΣ"),
    ],
)
def test_non_ascii_case_folding_agrees(value: str, record: str) -> None:
    for op in ("equals", "contains", "starts_with"):
        parsed = cond.parse([{"field": "a", "op": op, "value": value}])
        rows = [{"a": record, "b": None, "n": None}]
        assert _sql_matches(parsed, rows) == [cond.matches(parsed, rows[0])], (op, value, record)
