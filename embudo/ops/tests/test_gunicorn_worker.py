"""The web server's worker class (embudo.ops.gunicorn_worker): a worker holding a connection per thread waits a
moment before accepting another one, so that an idle worker takes it first. (That the class serves requests is
checked by test_processes, which runs ``embudo serve``.)"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from embudo.ops import gunicorn_worker
from embudo.ops.gunicorn_worker import BUSY_ACCEPT_DELAY_S, BalancedThreadWorker
from embudo.ops.management.commands.serve import gunicorn_argv


@pytest.mark.parametrize(("connections", "waits"), [(0, []), (7, []), (8, [BUSY_ACCEPT_DELAY_S]),
                                                     (20, [BUSY_ACCEPT_DELAY_S])])  # fmt: skip
def test_a_worker_with_a_connection_per_thread_waits_before_accepting(
    monkeypatch: pytest.MonkeyPatch, connections: int, waits: list[float]
) -> None:
    events: list[Any] = []
    monkeypatch.setattr(gunicorn_worker.time, "sleep", lambda seconds: events.append(("sleep", seconds)))
    monkeypatch.setattr(ThreadWorker, "accept", lambda self, listener: events.append(("accept", listener)))
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)  # no process around it: only its counters
    worker.nr_conns, worker.cfg = connections, SimpleNamespace(threads=8)
    worker.accept("listener")
    assert events == [("sleep", s) for s in waits] + [("accept", "listener")]


def test_serve_runs_the_balanced_worker() -> None:
    argv = gunicorn_argv(host="127.0.0.1", port=8000, workers=2, threads=8, timeout=30)
    assert argv[argv.index("--worker-class") + 1] == "embudo.ops.gunicorn_worker.BalancedThreadWorker"
