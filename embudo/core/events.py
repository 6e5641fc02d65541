"""Domain events: ``publish()`` records an append-only ``DomainEvent`` and defers one job per
subscriber (``config/event_map.py``) in the caller's transaction, so the fact and its
reactions commit or roll back together.

Events are frozen dataclasses subclassing ``Event``; their ``type`` is ``<context>.<ClassName>``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from django.db import connection, transaction
from procrastinate.contrib.django import app as procrastinate_app

from config import event_map
from embudo.core import clock
from embudo.core.models import DomainEvent
from embudo.core.sqlparams import jsonb, jsonb_array

_ENVELOPE = frozenset({"lead_id", "actor_id"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event. Subclasses add JSON-native fields (str, int, bool, lists, dicts)."""

    context: ClassVar[str] = "core"
    lead_id: int | None = None
    actor_id: int | None = None

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.context}.{cls.__name__}"

    def payload(self) -> dict[str, Any]:
        # Shallow (not ``dataclasses.asdict``, which deep-copies): the values are JSON-native and are
        # only serialized. Runs for every event on the intake path.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _ENVELOPE}


def subscribers_of(
    event_type: str, mapping: Mapping[str, list[str]] | None = None, *, payload: Mapping[str, Any] | None = None
) -> list[str]:
    """The task names subscribed to ``event_type``. With ``payload``, only those that react to this event:
    a subscriber listed in ``event_map.ONLY_WHEN`` needs the payload to pass its condition."""
    tasks = (mapping if mapping is not None else event_map.EVENT_SUBSCRIBERS).get(event_type, [])
    if payload is None:
        return list(tasks)
    return [t for t in tasks if _reacts(event_map.ONLY_WHEN.get((event_type, t)), payload)]


def _reacts(condition: event_map.Condition | None, payload: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    if isinstance(condition, tuple):
        key, value = condition
        return bool(payload.get(key) == value)
    if isinstance(condition, str):
        return bool(payload.get(condition))
    return condition(payload)


def publish(event: Event, *, occurred_at: datetime | None = None) -> DomainEvent:
    """Record ``event`` and defer its subscribers' jobs, atomically with the caller's writes.

    No savepoint: inside the caller's transaction an error here dooms the whole transaction anyway
    (the fact and its reactions must not be half written), and outside one this opens its own.
    """
    row = DomainEvent(
        type=event.type_name(),
        occurred_at=occurred_at or clock.now(),
        lead_id=event.lead_id,
        actor_id=event.actor_id,
        payload=event.payload(),
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Plain SQL, not ``objects.create``: several events are published per lead on the intake path,
        # and compiling the ORM insert cost more Python time than PostgreSQL spends on it.
        cursor.execute(
            "INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            [row.type, row.occurred_at, row.lead_id, row.actor_id, jsonb(row.payload)],
        )
        inserted = cursor.fetchone()
        row.pk = int(inserted[0]) if inserted else None
        row._state.adding = False
        defer_jobs(
            [JobToDefer(task_name, {"event_id": row.pk}) for task_name in subscribers_of(row.type, payload=row.payload)]
        )
    return row


def publish_many(events: Sequence[Event], *, occurred_at: datetime | None = None) -> list[int]:
    """``publish`` for several events in two statements whatever their number: one INSERT of all the rows and
    one batch of their subscribers' jobs. Returns the events' ids, in order."""
    if not events:
        return []
    at = occurred_at or clock.now()
    payloads = [e.payload() for e in events]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The ids come from the sequence in the SELECT's order (ORDER BY n), so sorted ids follow ``events``.
        cursor.execute(
            "INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload) "
            "SELECT u.type, %s, u.lead_id, u.actor_id, u.payload "
            "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::jsonb[]) WITH ORDINALITY "
            "AS u(type, lead_id, actor_id, payload, n) ORDER BY u.n RETURNING id",
            [
                at,
                [e.type_name() for e in events],
                [e.lead_id for e in events],
                [e.actor_id for e in events],
                jsonb_array(payloads),
            ],
        )
        ids = sorted(int(row[0]) for row in cursor.fetchall())
        defer_jobs(
            [
                JobToDefer(task_name, {"event_id": event_id})
                for event, payload, event_id in zip(events, payloads, ids, strict=True)
                for task_name in subscribers_of(event.type_name(), payload=payload)
            ]
        )
    return ids


@dataclasses.dataclass(frozen=True)
class JobToDefer:
    task: str
    kwargs: Mapping[str, Any]
    schedule_at: datetime | None = None


# The jobs deferred inside ``deferring_together()`` on this thread (None: defer at once).
_pending_jobs: contextvars.ContextVar[list[JobToDefer] | None] = contextvars.ContextVar("pending_jobs", default=None)


@contextlib.contextmanager
def deferring_together() -> Iterator[None]:
    """Defer every job of the block in ONE statement, at the end of the block, still in its transaction.

    The intake of one lead defers jobs from four places (the lead's events, the assignment's event, the
    owner's notification email, the SLA clocks): one round trip and one pass through procrastinate instead
    of four. If the block raises, its jobs are dropped with it: the caller's transaction or savepoint
    rolls back the writes they would react to. Nested blocks join the outermost one."""
    if _pending_jobs.get() is not None:
        yield
        return
    token = _pending_jobs.set([])
    try:
        yield
        jobs = _pending_jobs.get() or []
    finally:
        _pending_jobs.reset(token)
    _defer_now(jobs)


def defer_jobs(jobs: Sequence[JobToDefer]) -> None:
    """Defer several jobs in ONE statement (one round trip instead of one per job), in the caller's
    transaction; inside ``deferring_together()`` at the end of that block."""
    if not jobs:
        return
    pending = _pending_jobs.get()
    if pending is not None:
        pending.extend(jobs)
        return
    _defer_now(jobs)


def _defer_now(jobs: Sequence[JobToDefer]) -> None:
    if not jobs:
        return
    procrastinate_app.job_manager.batch_defer_jobs(
        jobs=[
            (
                procrastinate_app.configure_task(job.task, schedule_at=job.schedule_at)
                if job.schedule_at
                else procrastinate_app.configure_task(job.task)
            ).make_new_job(**job.kwargs)
            for job in jobs
        ]  # fmt: skip
    )


def get_event(event_id: int) -> DomainEvent:
    return DomainEvent.objects.get(pk=event_id)
