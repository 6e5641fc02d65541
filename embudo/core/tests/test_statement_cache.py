"""psycopg caches the placeholder conversion of long statements too (core.apps.cache_long_statements)."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg import _queries

pytestmark = pytest.mark.django_db


def test_a_statement_over_psycopg_default_limits_is_converted_once() -> None:
    params = list(range(70))  # over psycopg's default of 50 parameters
    padding = " " * 4200  # and over its default of 4,096 characters
    sql = f"SELECT {', '.join(['%s::int'] * len(params))}{padding}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert list(cursor.fetchone()) == params
        hits = _queries._query2pg.cache_info().hits
        cursor.execute(sql, [p + 1 for p in params])
        assert list(cursor.fetchone()) == [p + 1 for p in params]
    assert _queries._query2pg.cache_info().hits == hits + 1


def test_the_limits_are_raised_when_django_starts() -> None:
    from embudo.core import apps

    assert _queries.MAX_CACHED_STATEMENT_LENGTH == apps.CACHED_STATEMENT_LENGTH
    assert _queries.MAX_CACHED_STATEMENT_PARAMS == apps.CACHED_STATEMENT_PARAMS
