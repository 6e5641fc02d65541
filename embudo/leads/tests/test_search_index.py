"""The trigram index's pending list, merged by another connection while a bulk writer fills it."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from embudo.core import clock
from embudo.leads.models import Lead
from embudo.leads.search_index import PendingListMerger, merge_pending_lists

pytestmark = pytest.mark.django_db(transaction=True)


def _bulk_write(count: int, tag: str) -> None:
    """What the import does: a large pending-list limit for its own transaction, many leads in one go."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gin_pending_list_limit = 2097151")
    now = clock.now()
    Lead.objects.bulk_create(
        Lead(first_name=f"Nombre{tag}{i}", last_name=f"Apellido{i}", email=f"{tag}{i}@bulk.example",
             company_name=f"Empresa {tag} {i}", created_at=now, updated_at=now)
        for i in range(count)
    )  # fmt: skip


def test_a_bulk_writer_leaves_its_entries_pending_until_merged() -> None:
    merge_pending_lists()
    with transaction.atomic():
        _bulk_write(400, "a")
    assert merge_pending_lists() > 0  # what the next small-limit insert would otherwise have merged
    assert merge_pending_lists() == 0


def test_the_merger_merges_while_the_bulk_writers_transaction_is_still_open() -> None:
    merge_pending_lists()
    with PendingListMerger(interval=0.02) as merger, transaction.atomic():
        _bulk_write(400, "b")
        # Two more rounds: the second began after the write ended (a round may merge in the middle of the
        # INSERT, leaving the rows appended after it for the next one).
        rounds_at_the_end_of_the_write = merger.merges
        deadline = time.monotonic() + 10
        while merger.merges < rounds_at_the_end_of_the_write + 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        merged_during_the_write = merger.pages
    assert merged_during_the_write > 0
    assert merger.merges > 0
    assert merge_pending_lists() == 0  # nothing left for anyone else
    assert Lead.objects.filter(email__endswith="@bulk.example").count() == 400
