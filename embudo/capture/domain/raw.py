"""Raw submissions as PostgreSQL can store them (pure).

PostgreSQL's ``text`` and ``jsonb`` cannot hold the NUL character (U+0000), which any client can send: a JSON
``"\\u0000"``, a percent-encoded ``%00`` in a form or Web-to-Lead post, a webhook's message text. Stored as
sent, it made the insert of the raw submission fail, so nothing was kept and the request ended in a 500 (a
webhook's whole delivery, retried by its provider forever). NUL carries no meaning in a lead's data, so it is
dropped from every string, keys included, before the raw submission is stored; everything else is kept.
"""

from __future__ import annotations

from typing import Any


def has_nul(value: Any) -> bool:
    """Whether a string of ``value`` (JSON-native), or a key, holds a NUL (a check that allocates nothing)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def without_nul(value: Any) -> Any:
    """``value`` (JSON-native: dicts, lists, strings, numbers…) with every NUL removed from its strings; ``value``
    itself when it holds none."""
    if not has_nul(value):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
