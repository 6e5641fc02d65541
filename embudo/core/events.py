"""Domain events: ``publish()`` records an append-only ``DomainEvent`` and defers one job per
subscriber (``config/event_map.py``) in the caller's transaction, so the fact and its
reactions commit or roll back together.

Events are frozen dataclasses subclassing ``Event``; their ``type`` is ``<context>.<ClassName>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from django.db import transaction
from procrastinate.contrib.django import app as procrastinate_app

from config import event_map
from embudo.core import clock
from embudo.core.models import DomainEvent

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


def subscribers_of(event_type: str, mapping: Mapping[str, list[str]] | None = None) -> list[str]:
    return list((mapping if mapping is not None else event_map.EVENT_SUBSCRIBERS).get(event_type, []))


def publish(event: Event, *, occurred_at: datetime | None = None) -> DomainEvent:
    """Record ``event`` and defer its subscribers' jobs, atomically with the caller's writes.

    No savepoint: inside the caller's transaction an error here dooms the whole transaction anyway
    (the fact and its reactions must not be half written), and outside one this opens its own.
    """
    with transaction.atomic(savepoint=False):
        row = DomainEvent.objects.create(
            type=event.type_name(),
            occurred_at=occurred_at or clock.now(),
            lead_id=event.lead_id,
            actor_id=event.actor_id,
            payload=event.payload(),
        )
        for task_name in subscribers_of(row.type):
            procrastinate_app.configure_task(task_name).defer(event_id=row.pk)
    return row


def get_event(event_id: int) -> DomainEvent:
    return DomainEvent.objects.get(pk=event_id)
