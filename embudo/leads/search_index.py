"""The GIN pending lists of ``leads_lead`` (the trigram search index) while bulk writers fill them.

A GIN index with ``fastupdate`` appends new entries to a pending list, and the backend whose insert takes the
list past its ``gin_pending_list_limit`` merges the whole list into the index, inside its own statement. The
import (and a rescore) raise that limit for their own transactions and merge once at the end, which is much
cheaper than merging every 256 kB (``leads/0014``). But every other backend keeps the small limit, so the first
lead that arrives by the API while an import runs merged everything the import had appended since the last
merge: with one API lead every ~4 s during a 1M-row import, 300-1,500 ms per lead instead of ~15 ms (measured,
2026-11-23), and longer for a lone lead after a quiet minute. A rescore of more than one chunk runs the merger
too (``scoring.services.rescore_scope``): captures during a 1M-lead rescore, max 295 ms without it, 131 with it.

``PendingListMerger`` merges the lists from a connection of its own every ``interval`` seconds while a bulk
writer runs. A backend that finds a merge under way only appends (PostgreSQL's non-forced cleanup gives way
to a running one), and what it may still find to merge is at most one interval of the bulk writer's entries.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

_MERGE_SQL = """
    SELECT coalesce(sum(gin_clean_pending_list(i.indexrelid)), 0) FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
    WHERE i.indrelid = 'leads_lead'::regclass AND am.amname = 'gin'
"""


def merge_pending_lists() -> int:
    """Merge the pending lists of ``leads_lead``'s GIN indexes now; the number of pending-list pages merged."""
    with connection.cursor() as cursor:
        cursor.execute(_MERGE_SQL)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


class PendingListMerger:
    """``with PendingListMerger():`` around a bulk write of leads: merges the pending lists every ``interval``
    seconds on its own thread and database connection until the block ends. (The writer still merges its last
    entries itself at the end, with ``merge_pending_lists``.)

    A failure of the merging thread (the database going away) is logged and stops the thread; it never fails
    the bulk write, whose own statements will report a lost database."""

    def __init__(self, *, interval: float = 0.25) -> None:
        self.interval = interval
        self.merges = 0  # rounds done by the thread (for tests and curiosity)
        self.pages = 0  # pending-list pages they merged
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gin-pending-list-merger", daemon=True)

    def __enter__(self) -> PendingListMerger:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.pages += merge_pending_lists()
                self.merges += 1
        except DatabaseError:
            logger.exception("Merging the leads' GIN pending lists failed; the bulk write goes on without it.")
        finally:
            connection.close()  # this thread's own connection
