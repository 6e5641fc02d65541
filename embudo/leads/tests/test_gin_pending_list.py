"""The database's GIN pending-list limit (leads migration 0014): small for every new session, overridable by the
bulk paths' ``SET LOCAL``, and not pinned on the index itself (which would override them)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction

pytestmark = pytest.mark.django_db


def _new_session_setting() -> str:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as fresh:
        row = fresh.execute("SHOW gin_pending_list_limit").fetchone()
    assert row is not None
    return str(row[0])


def test_a_new_session_gets_the_small_pending_list_limit() -> None:
    assert _new_session_setting() == "256kB"


def test_the_trigram_indexes_carry_no_limit_of_their_own() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'gin' AND c.relname IN ('lead_search_trgm', 'company_name_trgm') ORDER BY 1"
        )
        rows = cursor.fetchall()
    assert rows == [("company_name_trgm", None), ("lead_search_trgm", None)]


def test_a_transaction_can_still_raise_it_for_itself() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL gin_pending_list_limit = 2097151")
        cursor.execute("SHOW gin_pending_list_limit")
        row = cursor.fetchone()
    assert row is not None and row[0] == "2097151kB"
