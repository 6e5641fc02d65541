"""Jobs of the inbox context: take ids, load, call one service; idempotent."""

from __future__ import annotations
