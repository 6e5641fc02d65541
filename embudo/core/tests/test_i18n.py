"""The Spanish catalogue is complete (no empty or fuzzy entries) and its compiled .mo matches the .po."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale" / "es" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"


@dataclass(frozen=True)
class Entry:
    msgctxt: str | None
    msgid: str
    msgid_plural: str | None
    msgstrs: tuple[str, ...]
    flags: frozenset[str]
    line: int


def _unquote(parts: list[str]) -> str:
    return "".join(ast.literal_eval(part) for part in parts)


def parse_po(text: str) -> list[Entry]:
    """A small .po reader (stdlib only): enough for Django's makemessages output."""
    entries: list[Entry] = []
    for match in re.finditer(r"(?:^|\n\n)(.*?)(?=\n\n|\Z)", text, re.S):
        block = match.group(1).strip("\n")
        if not block or all(line.startswith("#~") for line in block.splitlines()):
            continue
        flags: set[str] = set()
        fields: dict[str, list[str]] = {}
        current: str | None = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current is not None:
                fields[current].append(line)
            else:
                key, _, rest = line.partition(" ")
                current = key
                fields[key] = [rest]
        if "msgid" not in fields:
            continue
        plural_strs = sorted(k for k in fields if k.startswith("msgstr["))
        msgstrs = tuple(_unquote(fields[k]) for k in (plural_strs or ["msgstr"]))
        entries.append(
            Entry(
                msgctxt=_unquote(fields["msgctxt"]) if "msgctxt" in fields else None,
                msgid=_unquote(fields["msgid"]),
                msgid_plural=_unquote(fields["msgid_plural"]) if "msgid_plural" in fields else None,
                msgstrs=msgstrs,
                flags=frozenset(flags),
                line=text.count("\n", 0, match.start(1)) + 1,
            )
        )
    return entries


def _messages() -> list[Entry]:
    return [e for e in parse_po(PO_PATH.read_text(encoding="utf-8")) if e.msgid != ""]


def test_spanish_catalogue_has_entries() -> None:
    assert len(_messages()) > 50


def test_every_spanish_entry_is_translated() -> None:
    untranslated = [f"line {e.line}: {e.msgid!r}" for e in _messages() if not all(s.strip() for s in e.msgstrs)]
    assert not untranslated, "Untranslated entries in django.po:\n" + "\n".join(untranslated)


def test_no_fuzzy_entries() -> None:
    entries = parse_po(PO_PATH.read_text(encoding="utf-8"))
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "Fuzzy entries in django.po (review them and drop the flag):\n" + "\n".join(fuzzy)


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
    wrong = [
        e.msgid
        for e in _messages()
        if any(sorted(placeholder.findall(s)) != sorted(placeholder.findall(e.msgid)) for s in e.msgstrs[:1])
    ]
    assert not wrong, f"Placeholders differ from the source in: {wrong}"


def test_compiled_mo_matches_po() -> None:
    """Run `manage.py compilemessages` when this fails: the .mo is what Django reads."""
    assert MO_PATH.exists(), "django.mo is missing; run compilemessages"
    with MO_PATH.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    stale = []
    for entry in _messages():
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            if catalogue.get(key) != entry.msgstrs[0]:
                stale.append(entry.msgid)
        elif any(catalogue.get((key, i)) != s for i, s in enumerate(entry.msgstrs)):
            stale.append(entry.msgid)
    assert not stale, f"django.mo is out of date for {len(stale)} entries, e.g. {stale[:5]}; run compilemessages"
