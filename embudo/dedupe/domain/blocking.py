"""Blocking: cheap keys so that only records sharing a key are compared.

True duplicates share at least one key with high probability (each key survives a different kind
of corruption: email, phone, surname prefix, a phonetic surname, postcode, street, company), while
distinct people rarely do, so the number of compared pairs stays a small multiple of the records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from embudo.dedupe.domain.compare import FREE_EMAIL_DOMAINS, Prepared

# Blocks larger than this are skipped (a key everybody shares says nothing); see candidate_pairs.
MAX_BLOCK_SIZE = 500

_GENERIC_LOCALS = frozenset({"info", "admin", "contact", "contacto", "ventas", "sales", "hola", "hello", "office"})


def phonetic_key(word: str, length: int = 5) -> str:
    """A Spanish-aware Soundex-like key of a folded word: "Jiménez", "Gimenes", "Ximénez" -> "xmns"."""
    w = "".join(ch for ch in word.lower() if ch.isascii() and ch.isalpha())
    if not w:
        return ""
    for src, dst in (
        ("sch", "x"), ("ch", "x"), ("sh", "x"), ("ll", "y"), ("ph", "f"), ("qu", "k"), ("ck", "k"),
        ("gue", "Ge"), ("gui", "Gi"), ("ge", "xe"), ("gi", "xi"), ("G", "g"), ("j", "x"), ("ce", "se"), ("ci", "si"),
        ("c", "k"), ("q", "k"), ("z", "s"), ("v", "b"), ("w", "b"), ("y", "i"), ("h", ""),
    ):  # fmt: skip
        w = w.replace(src, dst)
    if not w:
        return ""
    head, tail = w[0], w[1:]
    if head in "aeiou":
        head = "a"
    consonants = [ch for ch in tail if ch not in "aeiou"]
    out = [head]
    for ch in consonants:
        if ch != out[-1]:
            out.append(ch)
    return "".join(out)[:length]


def blocking_keys(p: Prepared) -> set[str]:
    """The keys a record is filed under; two records are candidates when they share one."""
    keys: set[str] = set()
    if p.email:
        keys.add("e:" + p.email)
        if len(p.email_local) >= 5 and p.email_local not in _GENERIC_LOCALS:
            keys.add("el:" + p.email_local)
    if p.phone:
        keys.add("p:" + p.phone)
    given = sorted(p.given_canonical | ({p.given[0]} if p.given else set()))
    surname = p.surname[:2]
    for s in surname:
        phon = phonetic_key(s)
        if given:
            for g in given:
                keys.add(f"n:{s[:3]}:{g[:1]}")
                keys.add(f"n:{g[:3]}:{s[:1]}")  # swapped given/family names
                keys.add(f"ph:{phon}:{phonetic_key(g, 2)}")
        if p.postal_code:
            keys.add(f"pc:{p.postal_code}:{s[:2]}")
    for g in given:
        if p.postal_code:
            keys.add(f"pg:{p.postal_code}:{g[:2]}")
    if p.street_name:
        street = phonetic_key(p.street_name.split()[0], 4)
        if p.house_number:
            keys.add(f"st:{p.house_number}:{street}")
        if p.city:
            keys.add(f"sc:{street}:{phonetic_key(p.city, 3)}")
        if p.postal_code:
            keys.add(f"sp:{street}:{p.postal_code}")
    if p.address_line2:
        line2 = phonetic_key(p.address_line2.replace(" ", ""), 5)
        if p.city:
            keys.add(f"lc:{line2}:{phonetic_key(p.city, 3)}")
        if p.postal_code:
            keys.add(f"lp:{line2}:{p.postal_code}")
    if p.company and (given or surname):
        first = p.company.split()[0]
        initial = (surname[0] if surname else given[0])[:1]
        keys.add(f"co:{first}:{initial}")
    if p.email_domain and p.email_domain not in FREE_EMAIL_DOMAINS and surname:
        keys.add(f"ed:{p.email_domain}:{surname[0][:3]}")
    return keys


def candidate_pairs(
    records: Iterable[Prepared], max_block_size: int = MAX_BLOCK_SIZE
) -> Iterator[tuple[Prepared, Prepared]]:
    """Each pair of records sharing a blocking key, once, the lower id first."""
    blocks: dict[str, list[Prepared]] = defaultdict(list)
    for record in records:
        for key in blocking_keys(record):
            blocks[key].append(record)
    seen: set[tuple[str, str]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > max_block_size:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a.id == b.id:
                    continue
                pair = (a, b) if a.id < b.id else (b, a)
                ids = (pair[0].id, pair[1].id)
                if ids not in seen:
                    seen.add(ids)
                    yield pair
