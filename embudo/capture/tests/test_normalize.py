"""Normalization rules (pure, no database)."""

import contextlib
import re
from collections.abc import Callable

import pytest
from email_validator import validate_email
from hypothesis import given
from hypothesis import strategies as st

from embudo.capture.domain import normalize
from embudo.capture.domain.normalize import NormalizationError

# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ana.Lopez@Example.ES ", "ana.lopez@example.es"),
        ("ANA@ACME.COM", "ana@acme.com"),
        ("mailto:ana@acme.com", "ana@acme.com"),
        ("josé@correo.es", "josé@correo.es"),
        ("ÁNGEL@Correo.ES", "ángel@correo.es"),
        ("ana@bücher.de", "ana@xn--bcher-kva.de"),
        ("ana@xn--bcher-kva.de", "ana@xn--bcher-kva.de"),
        ("ana+leads@acme.com", "ana+leads@acme.com"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_email_examples(raw, expected):
    assert normalize.normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["ana", "ana@", "@acme.com", "ana@@acme.com", "ana lopez@acme.com", "ana@acme", "Ana <ana@acme.com>"]
)
def test_normalize_email_rejects_bad_syntax(raw):
    with pytest.raises(NormalizationError):
        normalize.normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+34 600 123 456", None, "+34600123456"),
        ("+34 600-12-34-56", "MX", "+34600123456"),
        ("600 123 456", "ES", "+34600123456"),
        ("0034 600 123 456", None, "+34600123456"),
        ("0034600123456", "ES", "+34600123456"),
        ("(55) 1234 5678", "MX", "+525512345678"),
        ("+52 1 55 1234 5678", None, "+525512345678"),  # old mobile "1" dropped
        ("(212) 555-0123", "US", "+12125550123"),
        ("011 34 600 123 456", "US", "+34600123456"),
        ("+1 212 555 0123 ext. 45", None, "+12125550123"),
        ("+44 7700 900123", None, "+447700900123"),  # fictional UK range: possible, not valid
        ("600 123 456", "es", "+34600123456"),
        ("", "ES", ""),
    ],
)
def test_normalize_phone_examples(raw, region, expected):
    assert normalize.normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("call me maybe", "ES"),
        ("600 123 456", None),  # no country code and no region
        ("+34 600", None),  # too short
        ("+34 600 123 456 789 012", None),  # too long
        ("+999 123 456 789", None),  # no such country code
        ("1-800-FLOWERS", "US"),  # letters are not digits here
        ("+34 600 123 456; DROP TABLE", None),
    ],
)
def test_normalize_phone_rejects(raw, region):
    with pytest.raises(NormalizationError):
        normalize.normalize_phone(raw, region)


def test_is_valid_phone_flags_unassigned_ranges():
    assert normalize.is_valid_phone("+34600123456")
    assert not normalize.is_valid_phone("+447700900123")
    assert not normalize.is_valid_phone("nope")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("34600123456", "+34600123456"),
        ("+34600123456", "+34600123456"),
        ("5215512345678", "+525512345678"),  # WhatsApp keeps the old Mexican "1"
    ],
)
def test_normalize_whatsapp_id(raw, expected):
    assert normalize.normalize_whatsapp_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("maría JOSÉ de la fuente", "María José de la Fuente"),
        ("  ana   maría  ", "Ana María"),
        ("o'neill", "O'Neill"),
        ("O’NEILL", "O’Neill"),
        ("mcdonald", "McDonald"),
        ("MACARENA", "Macarena"),
        ("macarena", "Macarena"),
        ("MACHADO", "Machado"),
        ("macdonald", "MacDonald"),  # known "Mac" surname
        ("garcía-lópez", "García-López"),
        ("JUAN CARLOS DEL RÍO Y GARCÍA", "Juan Carlos del Río y García"),
        ("de la fuente", "De la Fuente"),
        ("maria dos santos", "Maria dos Santos"),
        ("LUDWIG VAN BEETHOVEN", "Ludwig van Beethoven"),
        ("JEANNE D'ARC", "Jeanne d'Arc"),
        ("d'angelo", "D'Angelo"),
        ("ÑOÑO", "Ñoño"),
        ("josé", "José"),
        ("le", "Le"),  # a particle that ends a name is a surname
        ("nguyen van le", "Nguyen van Le"),
        ("DO", "Do"),
        ("DeShawn", "DeShawn"),
        ("McKenzie", "McKenzie"),
        ("van der Berg", "van der Berg"),
        ("Ana de la Fuente", "Ana de la Fuente"),
        ("李小龍", "李小龍"),
        ("j.", "J."),
        ("", ""),
    ],
)
def test_normalize_name_examples(raw, expected):
    assert normalize.normalize_name(raw) == expected


@pytest.mark.parametrize("raw", ["Ana 😀", "❤", "123", "---", "Ana ™"])
def test_normalize_name_rejects_symbols_and_letterless_text(raw):
    with pytest.raises(NormalizationError):
        normalize.normalize_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ES", "ES"),
        ("es", "ES"),
        ("ESP", "ES"),
        ("Spain", "ES"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("ESPAÑA", "ES"),
        ("Reino de España", "ES"),
        ("México", "MX"),
        ("Mexico", "MX"),
        ("Estados Unidos", "US"),
        ("EEUU", "US"),
        ("EE. UU.", "US"),
        ("EE.UU.", "US"),
        ("USA", "US"),
        ("United States", "US"),
        ("Reino Unido", "GB"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Alemania", "DE"),
        ("Germany", "DE"),
        ("Francia", "FR"),
        ("Brasil", "BR"),
        ("Brazil", "BR"),
        ("Perú", "PE"),
        ("peru", "PE"),
        ("Colombia", "CO"),
        ("Argentina", "AR"),
        ("Chile", "CL"),
        ("Países Bajos", "NL"),
        ("Holanda", "NL"),
        ("Turkey", "TR"),
        ("UAE", "AE"),
        ("Emiratos Árabes Unidos", "AE"),
        ("Arabia Saudita", "SA"),
        ("Argelia", "DZ"),
        ("Burma", "MM"),
        ("  ", ""),
    ],
)
def test_normalize_country_examples(raw, expected):
    assert normalize.normalize_country(raw) == expected


@pytest.mark.parametrize("raw", ["Atlantis", "XX", "Europe", "Españistán"])
def test_normalize_country_rejects_unknown(raw):
    with pytest.raises(NormalizationError):
        normalize.normalize_country(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.es/contact?x=1", "acme.es"),
        ("acme.es", "acme.es"),
        ("WWW.ACME.ES.", "acme.es"),
        ("http://user:secret@www.acme.com:8080/path#x", "acme.com"),
        ("ana@Acme.ES", "acme.es"),
        ("acme.co.uk/about", "acme.co.uk"),
        ("shop.acme.com", "shop.acme.com"),
        ("https://bücher.de", "xn--bcher-kva.de"),
        ("www.www.acme.es", "acme.es"),
        ("", ""),
    ],
)
def test_normalize_domain_examples(raw, expected):
    assert normalize.normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["acme", "localhost", "http://", "192.168.0.1", "[::1]", "acme..es", "-acme.es", "acme_corp.es", "a b.es"]
)
def test_normalize_domain_rejects(raw):
    with pytest.raises(NormalizationError):
        normalize.normalize_domain(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("es", "es"),
        ("es-ES", "es"),
        ("es_MX", "es"),
        ("EN_us", "en"),
        ("en-GB", "en"),
        ("Spanish", "es"),
        ("español", "es"),
        ("Espanol", "es"),
        ("castellano", "es"),
        ("English", "en"),
        ("inglés", "en"),
        ("fr", ""),  # a real language Embudo does not serve
        ("German", ""),
        ("", ""),
    ],
)
def test_normalize_language_examples(raw, expected):
    assert normalize.normalize_language(raw) == expected


@pytest.mark.parametrize("raw", ["klingonese", "123", "es-ES-x-😀"])
def test_normalize_language_rejects_non_languages(raw):
    with pytest.raises(NormalizationError):
        normalize.normalize_language(raw)


def test_clean_text_strips_controls_and_collapses_whitespace():
    assert normalize.clean_text(" a\x00b \t\n c\x07 ", 10) == "ab c"


def test_clean_text_enforces_max_length():
    assert normalize.clean_text("abc", 3) == "abc"
    with pytest.raises(NormalizationError, match="At most 3 characters"):
        normalize.clean_text("abcd", 3)


def test_normalize_lead_fields_normalizes_known_fields_and_drops_empty_and_unknown():
    result = normalize.normalize_lead_fields(
        {
            "first_name": "ANA",
            "last_name": "garcía-lópez",
            "email": " Ana@Acme.ES ",
            "phone": "600 123 456",
            "country": "España",
            "company_domain": "https://www.acme.es/",
            "language": "es-ES",
            "city": "  Madrid ",
            "region": "",
            "job_title": None,
            "whatsapp_id": "34600123456",
            "utm_source": "google",
        },
        default_region=None,
    )
    assert result.errors == {}
    assert result.is_valid
    assert result.values == {
        "first_name": "Ana",
        "last_name": "García-López",
        "email": "ana@acme.es",
        "phone": "+34600123456",  # region from the country field
        "country": "ES",
        "company_domain": "acme.es",
        "language": "es",
        "city": "Madrid",
        "whatsapp_id": "+34600123456",
    }


def test_a_local_phone_is_read_in_the_persons_country_then_in_the_channels_region():
    # Not a possible Spanish number (ten digits): the form's region reads it.
    result = normalize.normalize_lead_fields({"phone": "55 1234 5678", "country": "ES"}, default_region="MX")
    assert result.values["phone"] == "+525512345678"
    # Someone in Mexico on a form for Spain: their own country reads it.
    result = normalize.normalize_lead_fields({"phone": "55 1234 5678", "country": "México"}, default_region="ES")
    assert result.values["phone"] == "+525512345678"
    # Possible in both: the person's country wins.
    result = normalize.normalize_lead_fields({"phone": "612 345 678", "country": "ES"}, default_region="MX")
    assert result.values["phone"] == "+34612345678"
    # Neither reads it: the person's country's message.
    result = normalize.normalize_lead_fields({"phone": "12", "country": "ES"}, default_region="MX")
    assert "phone" in result.errors


@given(st.text(alphabet="0123456789 +-", max_size=16), st.sampled_from(["", "ES", "MX", "US"]),
       st.sampled_from(["", "ES", "MX", "US"]))  # fmt: skip
def test_a_local_phone_is_what_one_of_its_regions_reads(raw, country, region):
    try:
        e164 = normalize.normalize_local_phone(raw, country=country, default_region=region)
    except normalize.NormalizationError:
        for candidate in {country, region} - {""} or {""}:
            with pytest.raises(normalize.NormalizationError):
                normalize.normalize_phone(raw, candidate or None)
        return
    readings = set()
    for candidate in {country, region} - {""} or {""}:
        with contextlib.suppress(normalize.NormalizationError):
            readings.add(normalize.normalize_phone(raw, candidate or None))
    assert e164 in readings


def test_normalize_lead_fields_reports_errors_per_field():
    result = normalize.normalize_lead_fields(
        {
            "email": "not-an-email",
            "phone": "call me",
            "country": "Atlantis",
            "first_name": 42,
            "city": "x" * 101,
            "last_name": "López",
        },
        default_region="ES",
    )
    assert set(result.errors) == {"email", "phone", "country", "first_name", "city"}
    assert result.errors["first_name"] == ("Must be text.",)
    assert result.errors["city"] == ("At most 100 characters.",)
    assert result.values == {"last_name": "López"}
    assert not result.is_valid


def test_normalize_lead_fields_accepts_integers_for_numeric_fields_only():
    result = normalize.normalize_lead_fields(
        {"phone": 600123456, "postal_code": 28001, "whatsapp_id": 34600123456, "job_title": 7, "city": True},
        default_region="ES",
    )
    assert result.values == {"phone": "+34600123456", "postal_code": "28001", "whatsapp_id": "+34600123456"}
    assert result.errors == {"job_title": ("Must be text.",), "city": ("Must be text.",)}


def test_normalize_lead_fields_rejects_floats_for_postal_codes():
    result = normalize.normalize_lead_fields({"postal_code": 8001.0}, default_region=None)
    assert result.errors == {"postal_code": ("Must be text.",)}


def test_match_keys():
    keys = normalize.match_keys({"email": "ana@acme.es", "phone": "+34600123456", "whatsapp_id": "+34600123456"})
    assert keys == normalize.MatchKeys(email="ana@acme.es", phone="+34600123456", whatsapp="+34600123456")
    assert keys.phones == ("+34600123456",)
    assert keys
    assert not normalize.match_keys({"first_name": "Ana"})


# --- properties -------------------------------------------------------------------------------

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

phone_like = st.one_of(
    st.text(alphabet="0123456789 +-().x/", max_size=25),
    st.builds(lambda cc, rest: f"+{cc} {rest}", st.integers(1, 999), st.text(alphabet="0123456789 ", max_size=15)),
    st.builds(lambda rest: f"6{rest}", st.text(alphabet="0123456789", min_size=8, max_size=8)),
)
email_like = st.one_of(
    st.emails(),
    st.builds(lambda e: e.upper(), st.emails()),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=12), st.text(max_size=12)),
    st.text(max_size=30),
)
name_like = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(["maría", "JOSÉ", "de", "la", "o'neill", "MCDONALD", "van", "DeShawn", "garcía-lópez", "ß"]),
        max_size=5,
    ).map(" ".join),
)
domain_like = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda scheme, www, host, path: f"{scheme}{www}{host}{path}",
        st.sampled_from(["", "http://", "https://", "HTTPS://user:pw@"]),
        st.sampled_from(["", "www.", "WWW.", "www.www."]),
        st.from_regex(r"[A-Za-z0-9ü-]{1,10}\.(es|com|co\.uk|de)", fullmatch=True),
        st.sampled_from(["", "/", ":8080/x?y=1", ".", "#frag"]),
    ),
)
country_like = st.one_of(st.text(max_size=20), st.sampled_from(["España", "EE. UU.", "mexico", "GB", "deu", "Perú"]))
language_like = st.one_of(st.text(max_size=12), st.sampled_from(["es-ES", "EN_us", "Spanish", "español", "fr-CA"]))
regions = st.sampled_from([None, "ES", "MX", "US", "GB", "AR"])


def _idempotent(normalizer: Callable[[str], str], raw: str) -> str:
    try:
        once = normalizer(raw)
    except NormalizationError:
        return ""
    assert normalizer(once) == once
    return once


@given(email_like)
def test_normalize_email_is_idempotent_lower_case_and_revalidates(raw):
    email = _idempotent(normalize.normalize_email, raw)
    if email:
        assert email == email.lower()
        validate_email(email, check_deliverability=False)


@given(phone_like, regions)
def test_normalize_phone_is_idempotent_and_e164(raw, region):
    try:
        phone = normalize.normalize_phone(raw, region)
    except NormalizationError:
        return
    if phone:
        assert E164.match(phone)
    assert normalize.normalize_phone(phone) == phone
    assert normalize.normalize_phone(phone, region) == phone


@given(name_like)
def test_normalize_name_is_idempotent(raw):
    _idempotent(normalize.normalize_name, raw)


@given(domain_like)
def test_normalize_domain_is_idempotent_and_bare(raw):
    domain = _idempotent(normalize.normalize_domain, raw)
    assert "/" not in domain
    assert ":" not in domain
    assert not domain.startswith("www.")
    assert domain == domain.lower()


@given(country_like)
def test_normalize_country_is_idempotent(raw):
    country = _idempotent(normalize.normalize_country, raw)
    assert country == "" or re.fullmatch(r"[A-Z]{2}", country)


@given(language_like)
def test_normalize_language_is_idempotent(raw):
    assert _idempotent(normalize.normalize_language, raw) in ("", "en", "es")


@given(st.text(max_size=60), st.integers(0, 60))
def test_clean_text_is_idempotent(raw, max_length):
    text = _idempotent(lambda value: normalize.clean_text(value, max_length), raw)
    assert "\x00" not in text
    assert len(text) <= max_length


lead_field_values = st.one_of(
    st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=False), phone_like, email_like
)


@given(st.dictionaries(st.sampled_from(normalize.LEAD_FIELDS), lead_field_values), regions)
def test_normalize_lead_fields_is_idempotent_and_never_raises(raw, region):
    result = normalize.normalize_lead_fields(raw, default_region=region)
    assert all(result.values.values())
    assert not set(result.values) & set(result.errors)
    again = normalize.normalize_lead_fields(result.values, default_region=region)
    assert again.values == result.values
    assert again.errors == {}


def test_normalize_phone_rejects_numbers_that_do_not_parse_back_to_themselves():
    # "+31 0000000" formats to "+31000000", which parses back as "+3100000": not a stable match key.
    with pytest.raises(NormalizationError):
        normalize.normalize_phone("+31 0000000")
    assert normalize.normalize_phone("+3100000") == "+3100000"
