"""Blocking keys and candidate pairs (no database)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from embudo.dedupe.domain.blocking import blocking_keys, candidate_pairs, phonetic_key
from embudo.dedupe.domain.compare import Record, prepare

ANA = Record(id="1", first_name="Ana", last_name="Jiménez Ruiz", email="ana.jimenez@acme.es", phone="+34600123456",
             company_name="Acme S.L.", street_address="Calle Mayor 12", city="Madrid", postal_code="28013")  # fmt: skip


def shares_key(a: Record, b: Record) -> bool:
    return bool(blocking_keys(prepare(a)) & blocking_keys(prepare(b)))


def test_phonetic_key_is_spanish_aware() -> None:
    assert phonetic_key("jimenez") == phonetic_key("gimenes") == phonetic_key("ximenez")
    assert phonetic_key("vazquez") == phonetic_key("basques")
    assert phonetic_key("llorente") == phonetic_key("yorente")
    assert phonetic_key("smith") == phonetic_key("smyth")
    assert phonetic_key("") == ""


@given(st.text(max_size=20))
def test_phonetic_key_is_short_ascii(word: str) -> None:
    key = phonetic_key(word)
    assert len(key) <= 5 and key.isascii()


def test_duplicates_share_a_key_despite_corruption() -> None:
    variants = [
        replace(ANA, id="2", first_name="Anna", last_name="Gimenez", email="", phone=""),  # typo + phonetic
        replace(ANA, id="3", first_name="Jiménez", last_name="Ana", email="", phone=""),  # swapped
        replace(ANA, id="4", first_name="X", last_name="Y", email="", street_address=""),  # same phone
        replace(ANA, id="5", first_name="Q", last_name="Z", phone="", street_address=""),  # same email
        replace(ANA, id="6", first_name="Ana", last_name="Kiménez", email="", phone=""),  # first-letter typo
    ]
    for variant in variants:
        assert shares_key(ANA, variant), variant


def test_unrelated_people_share_no_key() -> None:
    other = Record(id="9", first_name="Robert", last_name="Smith", email="bob@globex.com", phone="+15551234567",
                   street_address="1 Main St", city="Springfield", postal_code="62701")  # fmt: skip
    assert not shares_key(ANA, other)


def test_candidate_pairs_are_unique_ordered_and_skip_huge_blocks() -> None:
    people = [prepare(replace(ANA, id=f"{n:03d}", email=f"p{n}@acme.es", phone="")) for n in range(5)]
    pairs = list(candidate_pairs(people))
    assert len(pairs) == len({(a.id, b.id) for a, b in pairs}) == 10
    assert all(a.id < b.id for a, b in pairs)
    assert list(candidate_pairs(people, max_block_size=4)) == []
