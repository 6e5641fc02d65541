"""Benchmark data and timing for tasks: open follow-ups on ~5% of the owned leads of the bench database,
and the server time of "my day" (``/tasks/``) for a rep.

``ensure_bench_tasks`` is idempotent and set-based (one ``INSERT … SELECT``): a lead that already has a task
gets none; due times spread from 4 days ago to 9 days ahead (about a quarter overdue). Bench tasks have no
reminder (``remind_at`` NULL), so a worker pointed at the bench database sends nothing.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from embudo.core import clock

_INSERT = """
    INSERT INTO followups_task (lead_id, assignee_id, created_by_id, kind, title, notes, due_at, remind_at,
                                reminded_at, completed_at, completed_by_id, rule_id, rule_event_id,
                                created_at, updated_at)
    SELECT l.id, l.owner_id, l.owner_id,
           (ARRAY['call','email','meeting','whatsapp','follow_up','call'])[1 + (l.id / 20) %% 6],
           (ARRAY['Call back','Send the proposal','Book a demo','Check in on WhatsApp','Follow up','Qualify'])
               [1 + (l.id / 20) %% 6],
           '',
           date_trunc('hour', %(now)s::timestamptz)
               + make_interval(days => ((l.id / 20) %% 14)::int - 4, hours => ((l.id / 7) %% 10)::int),
           NULL, NULL, NULL, NULL, NULL, NULL, %(now)s, %(now)s
    FROM leads_lead l
    WHERE l.owner_id IS NOT NULL
      AND l.id %% 20 = 0  -- one lead in 20: 5%%
      AND NOT EXISTS (SELECT 1 FROM followups_task t WHERE t.lead_id = l.id)
"""


def ensure_bench_tasks() -> int:
    """Give ~5% of the owned leads an open task (once); returns the number of open tasks."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT, {"now": clock.now()})
        cursor.execute("SELECT count(*) FROM followups_task WHERE completed_at IS NULL")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def measure_my_day(
    *, email: str = "lucia@embudo.demo", path: str = "/tasks/", requests: int = 60, warmup: int = 10
) -> dict[str, Any]:
    """p50/p95 server time of ``path`` ("my day" by default) for one user (in-process client, like
    ``bench pages``)."""
    from embudo.accounts.models import User
    from embudo.bench import pages

    user = User.objects.filter(email=email).first() or User.objects.filter(role="sales_rep").order_by("id").first()
    if user is None:
        raise pages.NotSeeded("No sales rep in the database.")
    client = Client(SERVER_NAME=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
    client.force_login(user)
    with pages._quiet_request_log(), pages._static_files():
        timing = pages._time(client, [path] * requests, [path] * warmup)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE due_at < now()) FROM followups_task "
            "WHERE assignee_id = %s AND completed_at IS NULL",
            [user.pk],
        )
        row = cursor.fetchone() or (0, 0)
    return {
        "user": user.email, "path": path, "open_tasks": int(row[0]), "overdue": int(row[1]), "requests": requests,
        "p50_ms": round(pages.percentile(timing.samples_ms, 0.5), 1),
        "p95_ms": round(pages.percentile(timing.samples_ms, 0.95), 1),
        "max_ms": round(max(timing.samples_ms), 1), "queries": timing.queries, "statuses": sorted(timing.statuses),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
