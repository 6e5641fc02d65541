"""The web server's worker class: gunicorn's gthread worker that lets a less busy worker take new connections.

Why: every worker process polls the one listening socket and the first to call ``accept`` gets the connection.
When a client opens its connections together (wrk at the start of ``bench intake-api``, an HTTP pool warming up),
the worker that wakes first accepts them one after the other before the other has woken: 16 connections split
16/0 or 15/1 in three runs out of six (``connections_per_worker``). A keep-alive connection then stays with its
worker, whose threads share one GIL: about one core of Python for the whole load, 207-245 leads/s against 298
with an 11/5-10/6 split the same hour. So a worker that already holds a connection per thread waits 2 ms before
accepting another one, long enough for an idle worker to take it; with every worker that full, connections are
accepted as before, 2 ms later (once per connection, not per request)."""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]  # no type hints shipped

BUSY_ACCEPT_DELAY_S = 0.002


class BalancedThreadWorker(ThreadWorker):
    def accept(self, listener: Any) -> None:
        if self.nr_conns >= self.cfg.threads:
            time.sleep(BUSY_ACCEPT_DELAY_S)
        super().accept(listener)
