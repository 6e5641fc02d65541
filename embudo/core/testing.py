"""Helpers for tests (no test runner needed to import them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")


class _Rollback(Exception):
    def __init__(self, value: object):
        self.value = value


def rolled_back(run: Callable[[], T]) -> T:
    """Run ``run`` in a transaction (a savepoint inside a test's), roll it back, and return what it returned: two
    ways of doing the same thing can then start from the same database and be compared."""
    try:
        with transaction.atomic():
            raise _Rollback(run())
    except _Rollback as done:
        return done.value  # type: ignore[return-value]
