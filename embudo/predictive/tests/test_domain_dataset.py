"""Reading outcome CSVs: identity columns never reach the training store."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from embudo.predictive.domain.dataset import personal_data_columns


def test_personal_data_columns_by_name_by_content_and_by_uniqueness() -> None:
    rows = [
        {"correo": "x", "Work email": f"a{i}@b.example", "Tel.": f"+52 55 1234 {i:04d}", "Notes": f"free {i}",
         "Country": "ES" if i % 2 else "MX", "Revenue": str(i * 1000), "Apellidos": "García"}
        for i in range(60)
    ]  # fmt: skip
    assert personal_data_columns(rows, list(rows[0])) == ["correo", "Work email", "Tel.", "Notes", "Apellidos"]


@given(st.lists(st.sampled_from(["ES", "MX", "US", ""]), min_size=1, max_size=200))
def test_a_low_cardinality_trait_is_never_taken_for_personal_data(values: list[str]) -> None:
    assert personal_data_columns([{"Country": v} for v in values], ["Country"]) == []
