"""The default survivorship policy of a merge (pure, no database)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.dedupe.domain.survivorship import MERGE_FIELDS, SOURCE_TRUST, default_choices, filled

values = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "b", "Ana", "x@y.es"]), st.integers(0, 3))
sources = st.sampled_from(["", *SOURCE_TRUST, "web"])
stamps = st.sampled_from(["", "2026-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"])


@st.composite
def leads(draw: st.DrawFn) -> dict[str, Any]:
    row = {name: draw(values) for name in MERGE_FIELDS}
    row["source"] = draw(sources)
    row["updated_at"] = draw(stamps)
    return row


@settings(max_examples=300, deadline=None)
@given(leads(), leads())
def test_every_field_gets_a_side_and_no_known_value_is_dropped(
    survivor: dict[str, Any], merged: dict[str, Any]
) -> None:
    choices = default_choices(survivor, merged)
    assert set(choices) == set(MERGE_FIELDS)
    for name, side in choices.items():
        kept = survivor[name] if side == "survivor" else merged[name]
        assert filled(kept) or not (filled(survivor[name]) or filled(merged[name]))
        if not filled(merged[name]) or merged[name] == survivor[name]:
            assert side == "survivor"


@settings(max_examples=300, deadline=None)
@given(leads(), leads())
def test_swapping_the_leads_keeps_the_same_values_when_one_is_preferred(a: dict[str, Any], b: dict[str, Any]) -> None:
    trust = (SOURCE_TRUST.get(a["source"], 0), a["updated_at"]) != (SOURCE_TRUST.get(b["source"], 0), b["updated_at"])
    ab, ba = default_choices(a, b), default_choices(b, a)
    for name in MERGE_FIELDS:
        if filled(a[name]) and filled(b[name]) and a[name] != b[name] and trust:
            kept_ab = a[name] if ab[name] == "survivor" else b[name]
            kept_ba = b[name] if ba[name] == "survivor" else a[name]
            assert kept_ab == kept_ba


def test_the_more_trusted_source_wins_then_the_more_recent() -> None:
    base = dict.fromkeys(MERGE_FIELDS, "")
    manual = {**base, "city": "Madrid", "source": "manual", "updated_at": "2026-01-01"}
    api = {**base, "city": "Sevilla", "source": "api", "updated_at": "2026-06-01", "phone": "+34600"}
    assert default_choices(api, manual)["city"] == "merged"
    assert default_choices(manual, api)["city"] == "survivor"
    assert default_choices(manual, api)["phone"] == "merged"  # a known value beats an empty one
    newer = {**api, "source": "manual", "updated_at": "2026-06-01"}
    assert default_choices(manual, newer)["city"] == "merged"
