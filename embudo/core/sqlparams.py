"""Parameters for plain-SQL statements on hot paths."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb


def jsonb(value: Any) -> Any:
    """``value`` (JSON-native) as a jsonb parameter, with either client- or server-side binding.

    Typed ``Any`` because django-stubs types cursor parameters as plain scalars."""
    return Jsonb(value)
