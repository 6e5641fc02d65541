"""Normalization and validation of lead input from any channel (pure: values in, values out).

Every normalizer takes text and returns the canonical form of it, ``""`` for empty or
whitespace-only input, and raises :class:`NormalizationError` (a ``ValueError``) with an English
message a visitor can act on. Every normalizer is idempotent: ``f(f(x)) == f(x)``.

Decisions:

- Emails are compared case-insensitively everywhere in Embudo, so the whole address is
  lower-cased, local part included (RFC 5321 allows case-sensitive local parts; no mainstream
  provider uses them, and two leads for ``Ana@x.es`` and ``ana@x.es`` would be a duplicate).
  The domain is stored in its ASCII (punycode) form so that ``ana@bücher.de`` and
  ``ana@xn--bcher-kva.de`` are one address. Syntax only: no DNS lookups.
- Phones are stored in E.164 and must be *possible* numbers for their country (right length),
  not *valid* ones: libphonenumber's "valid" ranges lag real allocations by months and reject
  fictional test ranges (UK 07700 900xxx, random demo area codes), and losing a lead is worse than
  keeping a well-formed number nobody has assigned yet. :func:`is_valid_phone` tells the difference
  for callers that want to flag it. Extensions ("x123") are dropped: E.164 has none. Mexican
  numbers in the pre-2019 mobile form (+52 1 …, still used by WhatsApp wa_ids) lose the "1", so a
  WhatsApp contact and a typed phone give the same key.
- Names are re-capitalised only when a word is all lower-case or all upper-case; input that
  already looks deliberate ("DeShawn", "McKenzie", "van der Berg") is kept as typed.
  Symbols and emoji are rejected in names; a name needs at least one letter.
- Countries become ISO 3166-1 alpha-2 codes from codes, English names and Spanish names (from
  pycountry's own translations) plus a short table of colloquial aliases ("EEUU", "UK").
- Languages: Embudo serves ``en`` and ``es``. A recognised language we do not serve ("fr",
  "German") normalizes to ``""`` (the team's default applies) instead of rejecting the lead;
  text that is no language at all is an error.
- In :func:`normalize_lead_fields`, integers are accepted for ``phone``, ``whatsapp_id`` and
  ``postal_code`` (spreadsheets and JSON clients send them as numbers); floats and other types are
  "Must be text." (a float cannot keep a postal code's leading zero).
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import idna
import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from embudo.leads.domain import MAX_LENGTHS as LEAD_MAX_LENGTHS


class NormalizationError(ValueError):
    """Input that cannot be normalized; the message is shown to whoever sent it."""


LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company_name",
    "company_domain",
    "street_address",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "language",
    "whatsapp_id",
)
MAX_LENGTHS: Mapping[str, int] = {
    **{name: LEAD_MAX_LENGTHS[name] for name in LEAD_FIELDS if name in LEAD_MAX_LENGTHS},
    "company_domain": 253,
    "whatsapp_id": 32,
}
SUPPORTED_LANGUAGES = ("en", "es")
# Raw input longer than this is rejected before any parsing (normalized values are far shorter).
MAX_RAW_LENGTH = 1000

_WHITESPACE = re.compile(r"\s+")


def _empty(raw: str) -> bool:
    return not raw or raw.isspace()


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "EE. UU." → "eeuu", "Perú" → "peru"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


# --- text -------------------------------------------------------------------------------------


def clean_text(raw: str, max_length: int) -> str:
    """Drop control characters (NUL included), collapse whitespace, and enforce ``max_length``."""
    if not isinstance(raw, str):
        raise NormalizationError("Must be text.")
    kept = "".join(ch for ch in raw if ch.isspace() or unicodedata.category(ch) != "Cc")
    text = _WHITESPACE.sub(" ", kept).strip()
    if len(text) > max_length:
        raise NormalizationError(f"At most {max_length} characters.")
    return text


# --- email ------------------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    """``local@domain`` lower-cased, domain in ASCII (punycode); syntax checked without network."""
    text = clean_text(raw, MAX_RAW_LENGTH)
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    if not text:
        return ""
    email = _validated_email(text)
    if email == text:  # already its own normal form (the validator is deterministic): no second pass
        return email
    # Lower-casing can change Unicode text in ways the validator rejects (or that fold further),
    # so validate the lower-cased form too: the result is then a fixed point.
    return _validated_email(email)


def _validated_email(text: str) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError(str(exc)) from exc
    return f"{result.local_part.lower()}@{result.ascii_domain.lower()}"


# --- phone ------------------------------------------------------------------------------------

_PHONE_TEXT = re.compile(r"^\+?[0-9 ().\-/]+(?:\s*(?:ext\.?|x|#)\s*[0-9]{1,10})?$", re.IGNORECASE)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_MESSAGE = "Enter a phone number with its country code, e.g. +34 600 123 456."


def normalize_local_phone(raw: str, *, country: str, default_region: str | None) -> str:
    """``normalize_phone`` for a number that may lack its country code: read in the person's own ``country``
    (normalized) when it is a possible number there, else in the channel's ``default_region`` (form, import).

    Why both, in that order: a form for Spain filled by someone in Mexico ("55 1234 5678", country México)
    is a Mexican number, and the same form's "55 1234 5678" with country España is not a Spanish number at all
    (ten digits) but the default region's. The error, when neither reads it, is the first region's."""
    regions = [r for r in dict.fromkeys((country, (default_region or "").strip().upper())) if r]
    if len(regions) < 2:
        return normalize_phone(raw, regions[0] if regions else None)
    try:
        return normalize_phone(raw, regions[0])
    except NormalizationError as first:
        try:
            return normalize_phone(raw, regions[1])
        except NormalizationError:
            raise first from None


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 (``+34600123456``). Numbers without ``+``/``00`` are read in ``default_region``."""
    text = unicodedata.normalize("NFKC", clean_text(raw, MAX_RAW_LENGTH))
    if not text:
        return ""
    if not _PHONE_TEXT.match(text):
        raise NormalizationError(_PHONE_MESSAGE)
    if text.startswith("00"):
        text = "+" + text[2:]
    region = (default_region or "").strip().upper() or None
    if not text.startswith("+") and region is None:
        raise NormalizationError("Add the country code, e.g. +34 600 123 456.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise NormalizationError(_PHONE_MESSAGE) from exc
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        # Mexico dropped the mobile "1" in 2019, but WhatsApp wa_ids and old contacts still carry it.
        number = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise NormalizationError("This phone number has the wrong number of digits for its country.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.match(e164):
        raise NormalizationError(_PHONE_MESSAGE)
    # Numbers made of a leading zero (e.g. "+31 0000000") format to digits that parse back to another
    # number; only a fixed point is a stable match key.
    if phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.E164) != e164:
        raise NormalizationError(_PHONE_MESSAGE)
    return e164


def normalize_whatsapp_id(raw: str) -> str:
    """A WhatsApp ``wa_id`` (the number's digits, country code first, no ``+``) as E.164."""
    text = clean_text(raw, MAX_RAW_LENGTH)
    if not text:
        return ""
    if text.isdigit() and text.isascii():
        text = "+" + text
    return normalize_phone(text)


def is_valid_phone(e164: str) -> bool:
    """Whether an E.164 number is in a range its country has assigned (libphonenumber's metadata)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


# --- names ------------------------------------------------------------------------------------

# Lower-case when not the first word: Spanish, Portuguese, Dutch, German, French, Italian.
NAME_PARTICLES = frozenset(
    {"de", "del", "la", "las", "los", "y", "e", "van", "von", "der", "den", "ter", "ten"}
    | {"da", "do", "dos", "das", "di", "du", "le"}
)
# "Mac" is often just a syllable (Macarena, Mackey, Machado): only these get the inner capital.
_MAC_NAMES = frozenset(
    {"macarthur", "macdonald", "macgregor", "macintyre", "mackenzie", "maclean", "macleod", "macmillan", "macneil"}
    | {"macpherson"}
)
_APOSTROPHES = "'’"
_REJECTED_IN_NAMES = frozenset({"So", "Sk", "Sm", "Cs", "Co", "Cn"})


def normalize_name(raw: str) -> str:
    """A person's name with whitespace collapsed and sensible capitals (see the module notes)."""
    text = clean_text(raw, MAX_RAW_LENGTH)
    if not text:
        return ""
    if any(unicodedata.category(ch) in _REJECTED_IN_NAMES for ch in text):
        raise NormalizationError("Names cannot contain symbols or emoji.")
    if not any(unicodedata.category(ch).startswith("L") for ch in text):
        raise NormalizationError("A name needs at least one letter.")
    words = text.split(" ")
    if all(_looks_deliberate(word, last=i == len(words) - 1) for i, word in enumerate(words)):
        return text
    lowered = text.lower().split(" ")
    return " ".join(_capitalize_word(word, first=i == 0, last=i == len(lowered) - 1) for i, word in enumerate(lowered))


def _looks_deliberate(word: str, *, last: bool) -> bool:
    """A lower-case particle before another word, or a word with a leading capital that is not all capitals."""
    if word in NAME_PARTICLES and not last:
        return True
    cased = [ch for ch in word if ch.isupper() or ch.islower()]
    if not cased:
        return True
    if len(cased) == 1:
        return cased[0].isupper()
    return all(part[:1].isupper() or not part for part in word.split("-")) and not all(ch.isupper() for ch in cased)


def _capitalize_word(word: str, *, first: bool, last: bool) -> str:
    # A particle ends no name: a last "le" or "do" is a surname (Vietnamese Le, Do).
    if not first and not last and word in NAME_PARTICLES:
        return word
    return "-".join(_capitalize_part(part, first=first) for part in word.split("-"))


def _capitalize_part(part: str, *, first: bool) -> str:
    for apostrophe in _APOSTROPHES:
        prefix, sep, rest = part.partition(apostrophe)
        if sep and rest:
            if prefix in ("o", "d", "l") or not prefix:
                # O'Neill, D'Angelo; "d'" and "l'" stay lower-case inside a name (Jeanne d'Arc).
                head = prefix if prefix in ("d", "l") and not first else _upper_first(prefix)
                return head + sep + _upper_first(rest)
            return _upper_first(prefix) + sep + rest
    if part.startswith("mc") and len(part) > 2:
        return "Mc" + _upper_first(part[2:])
    if part in _MAC_NAMES:
        return "Mac" + _upper_first(part[3:])
    return _upper_first(part)


def _upper_first(text: str) -> str:
    if not text:
        return text
    head = text[0].upper()
    # Keep characters whose capital is not one character that lower-cases back (ß → SS).
    if len(head) != 1 or head.lower() != text[0]:
        return text
    return head + text[1:]


# --- countries --------------------------------------------------------------------------------

_COUNTRY_ALIASES: Mapping[str, str] = {
    # English
    "UK": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "US": "US",
    "USA": "US",
    "U.S.A.": "US",
    "United States of America": "US",
    "America": "US",
    "Holland": "NL",
    "Russia": "RU",
    "South Korea": "KR",
    "Korea": "KR",
    "Vietnam": "VN",
    "Czech Republic": "CZ",
    "Ivory Coast": "CI",
    # Former or common names that pycountry's current ones replaced
    "Turkey": "TR",
    "UAE": "AE",
    "U.A.E.": "AE",
    "Emirates": "AE",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Burma": "MM",
    "Cape Verde": "CV",
    "East Timor": "TL",
    "Palestine": "PS",
    "Bosnia": "BA",
    "Vatican": "VA",
    "Holy See": "VA",
    # Spanish, colloquial or without the article pycountry's translations use
    "EEUU": "US",
    "EE UU": "US",
    "EUA": "US",
    "Estados Unidos de Norteamérica": "US",
    "Norteamérica": "US",
    "Inglaterra": "GB",
    "Gran Bretaña": "GB",
    "Escocia": "GB",
    "Gales": "GB",
    "Holanda": "NL",
    "Rusia": "RU",
    "Corea del Sur": "KR",
    "Corea": "KR",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "República Dominicana": "DO",
    "Costa de Marfil": "CI",
    "Chequia": "CZ",
    "República Checa": "CZ",
    "Irán": "IR",
    "Siria": "SY",
    "Taiwán": "TW",
    "Vaticano": "VA",
    "Moldavia": "MD",
    "Tanzania": "TZ",
    "Emiratos": "AE",
    "EAU": "AE",
    "Arabia Saudita": "SA",
    "Macedonia del Norte": "MK",
    "Palestina": "PS",
    "Argelia": "DZ",
    "Cabo Verde": "CV",
    "Timor Oriental": "TL",
    "Birmania": "MM",
}


def _build_country_index() -> dict[str, str]:
    index: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        key = _fold(name or "")
        if key and key not in index:
            index[key] = code

    try:
        spanish: gettext.NullTranslations = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"])
    except OSError:  # pragma: no cover - pycountry ships its locales
        spanish = gettext.NullTranslations()
    countries = list(pycountry.countries)
    # Codes first so that a name can never shadow a code.
    for country in countries:
        add(country.alpha_2, country.alpha_2)
    for country in countries:
        add(country.alpha_3, country.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        add(alias, code)
    for country in countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                add(name, country.alpha_2)
                add(spanish.gettext(name), country.alpha_2)
    return index


_COUNTRIES = _build_country_index()


def normalize_country(raw: str) -> str:
    """ISO 3166-1 alpha-2 (``ES``) from a code, or an English or Spanish name; accents and case ignored."""
    text = clean_text(raw, MAX_RAW_LENGTH)
    if not text:
        return ""
    code = _COUNTRIES.get(_fold(text))
    if code is None:
        raise NormalizationError("Unknown country: use its name or its ISO code, e.g. ES.")
    return code


# --- company domains --------------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN_MESSAGE = "Enter a website or domain, e.g. acme.es."


# Cached: an intake derives the company domain and the email's kind from the same address (three calls per
# lead), and most leads share a few domains (gmail.com, the customer's own); IDNA encoding is the costly part.
@functools.lru_cache(maxsize=65536)
def normalize_domain(raw: str) -> str:
    """The registrable host of a URL, domain or email: ``https://www.Acme.es/x?y=1`` → ``acme.es``."""
    text = clean_text(raw, MAX_RAW_LENGTH)
    if not text:
        return ""
    if " " in text:
        raise NormalizationError(_DOMAIN_MESSAGE)
    if "://" not in text:
        if "@" in text and "/" not in text:
            text = text.rpartition("@")[2]
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError as exc:
        raise NormalizationError(_DOMAIN_MESSAGE) from exc
    host = host.rstrip(".")
    try:
        host = idna.encode(host, uts46=True).decode("ascii") if host else ""
    except (idna.IDNAError, UnicodeError) as exc:
        raise NormalizationError(_DOMAIN_MESSAGE) from exc
    host = host.lower()
    while host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
        or host.startswith("www.")
    ):
        raise NormalizationError(_DOMAIN_MESSAGE)
    return host


# --- language ---------------------------------------------------------------------------------

_LANGUAGE_NAMES: Mapping[str, str] = {
    "english": "en",
    "ingles": "en",
    "spanish": "es",
    "espanol": "es",
    "castellano": "es",
    "castilian": "es",
}
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")


def normalize_language(raw: str) -> str:
    """``en`` or ``es`` from a tag or a name ("es-ES", "EN_us", "Spanish", "español").

    A real language Embudo does not serve gives ``""``; text that is no language is an error.
    """
    text = clean_text(raw, MAX_RAW_LENGTH)
    if not text:
        return ""
    lowered = text.lower()
    tag = _LANGUAGE_TAG.match(lowered)
    if tag:
        primary = tag.group(1)
        if primary in SUPPORTED_LANGUAGES:
            return primary
        if pycountry.languages.get(alpha_2=primary) or pycountry.languages.get(alpha_3=primary):
            return ""
    folded = _fold(text)
    if folded in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[folded]
    try:
        pycountry.languages.lookup(text)
    except LookupError:
        raise NormalizationError("Unknown language: use a code such as en or es.") from None
    return ""


# --- all lead fields --------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizedFields:
    """Normalized non-empty values of the known lead fields, and messages per invalid field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors


_NUMERIC_FIELDS = frozenset({"phone", "whatsapp_id", "postal_code"})


def normalize_lead_fields(raw: Mapping[str, object], *, default_region: str | None) -> NormalizedFields:
    """Normalize the known lead fields present in ``raw``; other keys are ignored.

    ``None`` counts as empty. A phone without country code is read as ``normalize_local_phone`` says.
    Callers must store nothing when there are errors.
    """
    values: dict[str, str] = {}
    errors: dict[str, tuple[str, ...]] = {}
    texts: dict[str, str] = {}
    for name in LEAD_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and name in _NUMERIC_FIELDS:
            value = str(value)
        if not isinstance(value, str):
            errors[name] = ("Must be text.",)
            continue
        texts[name] = value

    country = _apply(texts, "country", normalize_country, values, errors)
    normalizers: dict[str, Callable[[str], str]] = {
        "email": normalize_email,
        "phone": lambda text: normalize_local_phone(text, country=country, default_region=default_region),
        "whatsapp_id": normalize_whatsapp_id,
        "first_name": normalize_name,
        "last_name": normalize_name,
        "company_domain": normalize_domain,
        "language": normalize_language,
    }
    for name in texts:
        if name != "country":
            _apply(texts, name, normalizers.get(name), values, errors)
    return NormalizedFields(values=values, errors=errors)


def _apply(
    texts: Mapping[str, str],
    name: str,
    normalizer: Callable[[str], str] | None,
    values: dict[str, str],
    errors: dict[str, tuple[str, ...]],
) -> str:
    if name not in texts:
        return ""
    limit = MAX_LENGTHS[name]
    try:
        if normalizer is None:
            value = clean_text(texts[name], limit)
        else:
            value = normalizer(texts[name])
            if len(value) > limit:
                raise NormalizationError(f"At most {limit} characters.")
    except NormalizationError as exc:
        errors[name] = (str(exc),)
        return ""
    if value:
        values[name] = value
    return value


@dataclass(frozen=True)
class MatchKeys:
    """The exact keys an incoming lead is matched on (empty strings when unknown)."""

    email: str = ""
    phone: str = ""
    whatsapp: str = ""

    @property
    def phones(self) -> tuple[str, ...]:
        """Every known number, deduplicated: a WhatsApp number matches a stored phone and back."""
        return tuple(dict.fromkeys(number for number in (self.phone, self.whatsapp) if number))

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.whatsapp)


def match_keys(values: Mapping[str, str]) -> MatchKeys:
    """Match keys from *normalized* values (the output of :func:`normalize_lead_fields`)."""
    return MatchKeys(
        email=values.get("email", "").lower(),
        phone=values.get("phone", ""),
        whatsapp=values.get("whatsapp_id", ""),
    )
