"""The intake fast path's pure pieces: the bounded comparison and Jaro–Winkler (no database)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.bench import dedupe_leads
from embudo.dedupe.domain import blocking
from embudo.dedupe.domain.compare import REVIEW, compare, compare_if_above, jaro_winkler, prepare
from embudo.dedupe.tests.test_compare import JOSE, records


def _textbook_jaro_winkler(a: str, b: str) -> float:
    """The double-loop Jaro–Winkler the matcher used before (the reference for the str.find version)."""
    if a > b:
        a, b = b, a
    if a == b:
        return 1.0 if a else 0.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(0, max(la, lb) // 2 - 1)
    matched_b = [False] * lb
    a_matches = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not matched_b[j] and b[j] == ch:
                matched_b[j] = True
                a_matches.append(ch)
                break
    m = len(a_matches)
    if not m:
        return 0.0
    b_matches = [b[j] for j in range(lb) if matched_b[j]]
    transpositions = sum(x != y for x, y in zip(a_matches, b_matches, strict=True)) / 2
    jaro = (m / la + m / lb + (m - transpositions) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


short = st.text(alphabet="abcde ñ", max_size=14)


@settings(max_examples=500, deadline=None)
@given(short, short)
def test_jaro_winkler_equals_the_textbook_algorithm(a: str, b: str) -> None:
    assert jaro_winkler.__wrapped__(a, b) == _textbook_jaro_winkler(a, b)


@settings(max_examples=300, deadline=None)
@given(records, records, st.floats(min_value=0.0, max_value=1.0), st.booleans())
def test_bounded_comparison_never_hides_a_score_at_the_floor(a, b, floor: float, strictly: bool) -> None:
    pa, pb = prepare(a), prepare(replace(b, id="b"))
    full = compare(pa, pb)
    bounded = compare_if_above(pa, pb, floor, strictly=strictly)
    if bounded is None:
        assert full.score < floor or (strictly and full.score <= floor)
    else:
        assert bounded == full


def test_bounded_comparison_on_generated_candidates_matches_the_full_one() -> None:
    data = dedupe_leads.generate(seed=3, people=300)
    prepared = [prepare(r) for r in data.records]
    skipped = 0
    for a, b in blocking.candidate_pairs(prepared):
        full = compare(a, b)
        bounded = compare_if_above(a, b, REVIEW)
        if bounded is None:
            skipped += 1
            assert full.score < REVIEW
        else:
            assert bounded == full
    assert skipped > 0  # the first pass does skip hopeless candidates


def test_an_identical_record_is_never_skipped() -> None:
    p = prepare(JOSE)
    assert compare_if_above(p, prepare(replace(JOSE, id="2")), REVIEW) == compare(p, prepare(replace(JOSE, id="2")))
