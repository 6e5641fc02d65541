"""Group commit of single-lead intake requests (``POST /api/v1/leads``).

One lead per transaction costs ~8 ms of CPU in the intake path; the same path for a handful of leads at once
(``batch_intake.capture_many``) costs a third of that per lead. So when requests arrive faster than a web process
writes them, the ones that arrive while a write is under way are written together, by one of them, as soon as
that write ends:

- a request that finds fewer than ``INTAKE_GROUP_COMMIT_WRITERS`` writes under way in its process writes alone,
  through the single path (``services.capture``): at light load nothing changes and nobody waits;
- otherwise it queues. When a write ends, the queue (up to ``MAX_BATCH`` requests) becomes the next write, done by
  the first queued request's own thread; the thread that finished answers its client at once;
- every request still gets its own result after its own COMMIT, and a batch's outcome is that of its requests
  one by one in arrival order (``batch_intake``'s guarantee, tested there).

Nobody waits on purpose: a request waits only for the write in front of it, which is what it would wait for on
the database's locks and CPU anyway. Each request's ``received_at`` is when it arrived, so speed-to-lead counts
the wait. If a group's write raises (the database is gone, say), every request of the group answers 500, as a
single request would; an item that fails processing is marked ``failed`` and retried alone, as always.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.conf import settings

from embudo.capture import batch_intake, services

MAX_BATCH = batch_intake.TRANSACTION_ITEMS  # one transaction


@dataclass(eq=False)
class _Request:
    item: batch_intake.BatchItem
    channel: str
    done: threading.Event = field(default_factory=threading.Event)
    result: services.IntakeResult | None = None
    error: BaseException | None = None
    group: list[_Request] | None = None  # set when this request's thread is to write this group


@dataclass
class Stats:
    """What a process's group commit did (for tests and the benchmark's curiosity)."""

    writes: int = 0
    grouped_writes: int = 0
    grouped_requests: int = 0


class GroupCommit:
    """``alone_up_to``: while the process has at most this many intake requests in flight, each writes alone (as
    if there were no group commit); beyond, they queue for the group writes, ``writers`` at a time."""

    def __init__(self, *, writers: int, alone_up_to: int = 0) -> None:
        self.writers = writers
        self.alone_up_to = alone_up_to
        self.stats = Stats()
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._writing = 0
        self._in_flight = 0

    def capture(self, *, channel: str, item: batch_intake.BatchItem) -> services.IntakeResult:
        me = _Request(item, channel)
        with self._lock:
            self._in_flight += 1
            alone = self._in_flight <= self.alone_up_to
            if alone:
                pass
            elif self._writing < self.writers:
                self._writing += 1
                me.group = [me]
            else:
                self._queue.append(me)
        try:
            if alone:
                self._write([me])
            else:
                if me.group is None:
                    me.done.wait()
                if me.group is not None:  # ours to write (alone, or the group we were handed)
                    try:
                        self._write(me.group)
                    finally:
                        self._hand_over()
        finally:
            with self._lock:
                self._in_flight -= 1
        if me.error is not None:
            raise me.error
        assert me.result is not None  # noqa: S101 - set by _write
        return me.result

    def _write(self, group: list[_Request]) -> None:
        try:
            if len(group) == 1:
                only = group[0]
                results = [
                    services.capture(
                        channel=only.channel,
                        payload=only.item.payload,
                        meta=only.item.meta,
                        context=only.item.context,
                        idempotency_key=only.item.idempotency_key,
                        actor_id=only.item.actor_id,
                        received_at=only.item.received_at,
                    )  # fmt: skip
                ]
            else:
                results = batch_intake.capture_many(channel=group[0].channel, items=[r.item for r in group])
            for request, result in zip(group, results, strict=True):
                request.result = result
        except Exception as exc:  # noqa: BLE001 - every request of the group answers with it (500), as one alone would
            for request in group:
                request.error = exc
        finally:
            with self._lock:
                self.stats.writes += 1
                if len(group) > 1:
                    self.stats.grouped_writes += 1
                    self.stats.grouped_requests += len(group)
            for request in group:
                if request.result is None and request.error is None:  # interrupted (the worker is stopping)
                    request.error = RuntimeError("The intake write was interrupted.")
            for request in group[1:]:
                request.done.set()

    def _hand_over(self) -> None:
        """The queue becomes the next write, by its first request's thread; else one writer fewer."""
        with self._lock:
            if not self._queue:
                self._writing -= 1
                return
            group, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        group[0].group = group
        group[0].done.set()


_process_group_commit: GroupCommit | None = None
_process_lock = threading.Lock()


def group_commit() -> GroupCommit | None:
    """This process's group commit, or None when ``INTAKE_GROUP_COMMIT_WRITERS`` is 0."""
    global _process_group_commit
    writers, alone_up_to = settings.INTAKE_GROUP_COMMIT_WRITERS, settings.INTAKE_GROUP_COMMIT_ALONE_UP_TO
    if writers <= 0:
        return None
    with _process_lock:
        found = _process_group_commit
        if found is None or (found.writers, found.alone_up_to) != (writers, alone_up_to):
            found = _process_group_commit = GroupCommit(writers=writers, alone_up_to=alone_up_to)
        return found
