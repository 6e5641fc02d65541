"""The pure matcher: similarity, preparation and the scored comparison (no database)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.dedupe.domain import names
from embudo.dedupe.domain.compare import (
    AUTO_MERGE,
    REVIEW,
    Record,
    company_key,
    compare,
    jaro_winkler,
    prepare,
)

JOSE = Record(
    id="1", first_name="José", last_name="García López", email="jose.garcia@acme.es", phone="+34600123456",
    company_name="Acme Ibérica S.L.", street_address="Calle Mayor 12", city="Madrid", postal_code="28013",
    region="Madrid", country="ES",
)  # fmt: skip

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéíóúñü ", min_size=0, max_size=12)
records = st.builds(
    Record,
    id=st.just("a"),
    first_name=words,
    last_name=words,
    email=st.one_of(st.just(""), st.from_regex(r"[a-z]{1,8}@(gmail\.com|acme\.es|x\.com)", fullmatch=True)),
    phone=st.one_of(st.just(""), st.from_regex(r"\+34[67][0-9]{8}", fullmatch=True)),
    company_name=words,
    street_address=words,
    city=words,
    postal_code=st.from_regex(r"([0-9]{5})?", fullmatch=True),
    country=st.sampled_from(["", "ES", "MX", "US"]),
)


def score(a: Record, b: Record) -> float:
    return compare(prepare(a), prepare(replace(b, id="b"))).score


def test_jaro_winkler_known_values() -> None:
    assert jaro_winkler("martha", "marhta") == __import__("pytest").approx(0.9611, abs=1e-4)
    assert jaro_winkler("dixon", "dicksonx") == __import__("pytest").approx(0.8133, abs=1e-4)
    assert jaro_winkler("", "") == 0.0
    assert jaro_winkler("abc", "abc") == 1.0
    assert jaro_winkler("abc", "xyz") == 0.0


@given(st.text(max_size=15), st.text(max_size=15))
def test_jaro_winkler_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert jaro_winkler(a, b) == jaro_winkler(b, a)
    assert 0.0 <= jaro_winkler(a, b) <= 1.0


def test_nicknames_map_to_the_same_name() -> None:
    for nick, name in [("Pepe", "José"), ("Paco", "Francisco"), ("Pancho", "Francisco"), ("Nacho", "Ignacio"),
                       ("Lola", "Dolores"), ("Concha", "Concepción"), ("Chema", "José María"), ("Manolo", "Manuel"),
                       ("Quique", "Enrique"), ("Bob", "Robert"), ("Rob", "Robert"), ("Bill", "William"),
                       ("Will", "William"), ("Liz", "Elizabeth"), ("Beth", "Elizabeth"), ("Peggy", "Margaret"),
                       ("Jim", "James")]:  # fmt: skip
        assert names.nickname_equivalent(nick, name), (nick, name)
    assert not names.nickname_equivalent("Pepe", "Francisco")


def test_company_key_drops_legal_forms() -> None:
    assert company_key("Acme Ibérica, S.L.U.") == "acme iberica"
    assert company_key("ACME IBERICA SL") == "acme iberica"
    assert company_key("Grupo Bimbo S.A. de C.V.") == "grupo bimbo"
    assert company_key("Globex Corp.") == company_key("Globex, Inc.") == company_key("Globex LLC") == "globex"
    assert company_key("Siemens GmbH") == "siemens"
    assert company_key("SL") == "sl"  # a name that is only a suffix stays


def test_prepare_splits_a_full_name_typed_in_one_box() -> None:
    p = prepare(Record(id="x", first_name="Ana de la Fuente"))
    assert p.given == ("ana",) and p.surname == ("fuente",)


def test_identical_records_score_above_auto_merge() -> None:
    assert score(JOSE, JOSE) >= AUTO_MERGE


def test_same_email_alone_is_a_strong_match() -> None:
    a = Record(id="a", first_name="Pepe", email="JOSE.GARCIA@acme.es")
    assert score(a, JOSE) >= AUTO_MERGE


def test_gmail_dots_and_plus_tags_are_the_same_address() -> None:
    a = Record(id="a", first_name="Ana", last_name="Ruiz", email="ana.ruiz+news@gmail.com")
    b = Record(id="b", first_name="Ana", last_name="Ruiz", email="anaruiz@googlemail.com")
    reasons = {r.field: r.level for r in compare(prepare(a), prepare(b)).reasons}
    assert reasons["email"] == "exact"


def test_nickname_accents_and_compound_surname_still_match() -> None:
    variant = replace(JOSE, id="2", first_name="pepe", last_name="GARCIA", email="", company_name="ACME IBERICA, SLU")
    assert score(JOSE, variant) >= AUTO_MERGE


def test_swapped_names_are_recognised() -> None:
    swapped = replace(JOSE, id="2", first_name="García", last_name="José", email="", phone="")
    match = compare(prepare(JOSE), prepare(swapped))
    assert match.score >= REVIEW
    assert any(r.field == "names_swapped" for r in match.reasons)


def test_different_people_at_one_company_do_not_match() -> None:
    colleague = replace(JOSE, id="2", first_name="Lucía", last_name="Martín", email="lucia.martin@acme.es",
                        phone="+34600999888")  # fmt: skip
    assert score(JOSE, colleague) < REVIEW


def test_relatives_at_one_address_are_not_merged() -> None:
    sister = replace(JOSE, id="2", first_name="Carmen", email="carmen.garcia@gmail.com", company_name="")
    match = compare(prepare(JOSE), prepare(sister))
    assert match.score < AUTO_MERGE
    assert any(r.field == "household" for r in match.reasons)


def test_different_phone_and_business_email_lower_the_score() -> None:
    same = replace(JOSE, id="2", email="", phone="")
    other = replace(JOSE, id="2", email="pepe@otra.es", phone="+34611111111")
    assert score(JOSE, other) < score(JOSE, same)


def test_reasons_explain_the_score() -> None:
    match = compare(prepare(JOSE), prepare(replace(JOSE, id="2")))
    fields = {r.field for r in match.reasons}
    assert {"given_name", "last_name", "email", "phone", "company", "street", "postal_code", "city"} <= fields
    assert all(r.weight > 0 for r in match.reasons)


@settings(max_examples=200, deadline=None)
@given(records, records)
def test_compare_is_symmetric_and_bounded(a: Record, b: Record) -> None:
    pa, pb = prepare(a), prepare(replace(b, id="b"))
    ab, ba = compare(pa, pb), compare(pb, pa)
    assert 0.0 <= ab.score <= 1.0
    assert abs(ab.score - ba.score) < 1e-9


@settings(max_examples=200, deadline=None)
@given(records, records)
def test_a_record_matches_itself_at_least_as_well_as_anything(a: Record, b: Record) -> None:
    assert score(a, a) >= score(a, b) - 1e-9


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@settings(max_examples=200, deadline=None)
@given(records)
def test_accents_case_and_whitespace_do_not_change_the_score(a: Record) -> None:
    def noisy(text: str) -> str:
        return "  " + _strip_accents(text).upper().replace(" ", "   ") + " "

    b = replace(a, first_name=noisy(a.first_name), last_name=noisy(a.last_name), city=noisy(a.city),
                company_name=noisy(a.company_name), street_address=noisy(a.street_address))  # fmt: skip
    assert score(a, b) >= score(a, a) - 1e-9
