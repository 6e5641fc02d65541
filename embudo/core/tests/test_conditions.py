"""The shared condition language: validation messages and the Python evaluator's semantics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.core.domain import conditions as c


def test_parse_normalises_values_and_reports_each_bad_part_by_path():
    parsed = c.parse(
        [
            {"field": "job_title", "op": "contains", "value": [" Director ", "HEAD", "head"]},
            {"field": "company.size", "op": "in", "value": ["501-1000", "1000+"]},
            {"field": "score", "op": "between", "value": [51, "80"]},
        ]
    )
    assert parsed[0].value == ("director", "head")
    assert parsed[2].value == (51.0, 80.0)
    with pytest.raises(c.ConditionError) as error:
        c.parse(
            [
                {"field": "", "op": "equals", "value": "x"},
                {"field": "country", "op": "like", "value": "x"},
                {"field": "score", "op": "between", "value": [90, 10]},
                {"field": "nope", "op": "present"},
            ],
            fields=["country", "score"],
        )
    assert set(error.value.fields) == {
        "conditions.0.field",
        "conditions.1.op",
        "conditions.2.value",
        "conditions.3.field",
    }


def test_semantics_of_each_operator():
    record = {"job_title": "Head of IT", "country": "ES", "score": "87", "city": "", "custom.plan": "Pro"}

    def holds(field: str, op: str, value: object = None) -> bool:
        return c.matches(c.parse([{"field": field, "op": op, "value": value}]), record)

    assert holds("job_title", "contains", ["director", "head"])
    assert not holds("job_title", "not_contains", "HEAD")
    assert holds("country", "equals", "es") and holds("country", "in", ["MX", "ES"])
    assert holds("city", "not_equals", "madrid") and not holds("city", "equals", "madrid")
    assert holds("city", "missing") and holds("country", "present") and holds("absent", "missing")
    assert holds("score", "gte", 81) and holds("score", "between", [80, 90]) and not holds("score", "lte", 50)
    assert not holds("job_title", "gte", 1)  # not a number: never matches
    assert holds("custom.plan", "starts_with", "pr")
    assert c.matches([], record)


texts = st.one_of(st.none(), st.text(max_size=12), st.integers(-100, 100).map(str))


@given(texts, st.sampled_from(["equals", "contains", "starts_with", "in"]), st.text(min_size=1, max_size=5))
def test_negated_operators_are_exact_complements(actual, op, value):
    if not value.strip(" "):
        return
    negation = {"equals": "not_equals", "contains": "not_contains", "in": "not_in"}.get(op)
    if negation is None:
        return
    positive = c.parse([{"field": "f", "op": op, "value": value}])
    negative = c.parse([{"field": "f", "op": negation, "value": value}])
    assert c.matches(positive, {"f": actual}) != c.matches(negative, {"f": actual})


@given(texts)
def test_missing_and_present_partition_every_value(actual):
    missing = c.matches(c.parse([{"field": "f", "op": "missing"}]), {"f": actual})
    present = c.matches(c.parse([{"field": "f", "op": "present"}]), {"f": actual})
    assert missing != present


def test_to_sql_keeps_values_out_of_the_sql_text():
    sql, params = c.to_sql(
        c.parse(
            [
                {"field": "country", "op": "equals", "value": "es'; DROP TABLE x; --"},
                {"field": "custom.plan", "op": "contains", "value": "50%_off"},
            ]
        ),  # fmt: skip
        {"country": "l.country"},
        custom_column="l.custom_fields",
    )
    assert "DROP" not in sql and "50" not in sql
    assert "es'; drop table x; --" in params and "plan" in params and ["%50\\%\\_off%"] in params
    with pytest.raises(c.ConditionError):
        c.to_sql(c.parse([{"field": "unknown", "op": "present"}]), {"country": "l.country"})
