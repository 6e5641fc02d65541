"""Inbox benchmark helpers: the URLs ``bench pages`` times, and a standalone measurement with SLA data.

``inbox_urls(user)`` is what ``embudo bench pages`` requests (scenarios "inbox · rep" / "inbox · manager").
``run()`` measures the rep's inbox and the manager's team view on the bench database with realistic SLA
clocks and snoozes, which it adds inside a transaction and rolls back (the bench DB is left as it was)::

    flock /tmp/embudo-bench.lock env EMBUDO_DATA_DIR=var/bench \
        uv run python manage.py shell -c "from embudo.inbox import bench; bench.main()"
"""

from __future__ import annotations

import json
import random
import re
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from embudo.accounts.models import User
from embudo.core import clock
from embudo.inbox import selectors

REP_EMAIL = "lucia@embudo.demo"
MANAGER_EMAIL = "manager@embudo.demo"
PLAN_INDEX = re.compile(r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")


def inbox_urls(user: User) -> list[str]:
    """What a user opens during the day: the inbox with its common filters and the second page; managers
    also the team view."""
    urls = [
        "/inbox/",
        "/inbox/?grade=hot",
        "/inbox/?sla=due_soon",
        "/inbox/?page=2",
        "/inbox/?lifecycle=mql",
        "/inbox/?overdue_task=1",
    ]
    if selectors.can_see_team_view(user):
        urls = ["/inbox/team/", *urls[:2]]
    return urls


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))]


def _seed_sla(rng: random.Random, *, per_rep: int, breached_per_rep: int) -> dict[str, int]:
    """Open clocks (due from 2 h ago to 8 h ahead) and recently breached ones for every rep's open leads,
    plus snoozes: what a busy team has on a weekday. Called inside a transaction that is rolled back."""
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sla_slapolicy (name, team_id, active, trigger, conditions, target_minutes, business_hours,"
            " remind_before_minutes, escalate, reassign, created_at, updated_at)"
            " VALUES ('bench: first touch', NULL, true, 'assigned', '[]', 30, false, 0, true, false, %s, %s)"
            " RETURNING id",
            [now, now],
        )
        row = cursor.fetchone()
        policy_id = row[0] if row else None
        cursor.execute(
            f"""
            INSERT INTO sla_slaclock (lead_id, policy_id, owner_id, team_id, trigger, status, started_at, due_at,
                                      breached_at, closed_at, escalations)
            SELECT id, %(policy)s, owner_id, team_id, 'assigned',
                   CASE WHEN rn <= %(breached)s THEN 'breached' ELSE 'open' END,
                   due - interval '30 minutes', due,
                   CASE WHEN rn <= %(breached)s THEN due END, CASE WHEN rn <= %(breached)s THEN due END, 0
            FROM (
                SELECT l.id, l.owner_id, l.team_id,
                       row_number() OVER (PARTITION BY l.owner_id ORDER BY md5(l.id::text)) AS rn,
                       %(now)s::timestamptz + ((hashtext(l.id::text) %% 600) - 120) * interval '1 minute' AS due
                FROM leads_lead l
                WHERE l.owner_id IS NOT NULL AND {selectors.OPEN_LEAD_SQL}
            ) x
            WHERE rn <= %(per_rep)s
            """,  # noqa: S608 - constant clause
            {"policy": policy_id, "now": now, "per_rep": per_rep, "breached": breached_per_rep},
        )
        clocks = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO inbox_snooze (user_id, lead_id, until, created_at)
            SELECT owner_id, id, %(until)s, %(now)s FROM (
                SELECT l.id, l.owner_id, row_number() OVER (PARTITION BY l.owner_id ORDER BY l.id) AS rn
                FROM leads_lead l WHERE l.owner_id IS NOT NULL AND {selectors.OPEN_LEAD_SQL}
            ) x WHERE rn <= 100
            """,  # noqa: S608 - constant clause
            {"until": now + timedelta(days=1), "now": now},
        )
        snoozes = cursor.rowcount
        cursor.execute("ANALYZE sla_slaclock; ANALYZE inbox_snooze")
    return {"clocks": clocks, "snoozes": snoozes}


def _explain(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    match = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {
        "plan": plan,
        "indexes": sorted(set(PLAN_INDEX.findall(plan))),
        "execution_ms": float(match.group(1)) if match else None,
    }


def _time(client: Client, urls: list[str], requests: int, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        client.get(urls[i % len(urls)])
    per_url: dict[str, list[float]] = {u: [] for u in urls}
    statuses: set[int] = set()
    for i in range(requests):
        url = urls[i % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        per_url[url].append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    samples = [s for values in per_url.values() for s in values]
    return {
        "p50_ms": round(_percentile(samples, 0.5), 1),
        "p95_ms": round(_percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
        "statuses": sorted(statuses),
        "per_url_p95_ms": {u: round(_percentile(v, 0.95), 1) for u, v in per_url.items() if v},
    }


class _Rollback(Exception):
    pass


# The index this benchmark proposes for leads (not created by the inbox app; see the report). Same predicate as
# routing's lead_owner_open_idx plus "no outcome": the inbox's order (half B), counts and workload, index-only.
PROPOSED_INDEX = (
    "CREATE INDEX lead_owner_inbox_idx ON leads_lead (owner_id, (grade <> 'hot'), score DESC, updated_at, id) "
    "INCLUDE (grade) WHERE is_open AND outcome = ''"
)


def _measure(rep: User, manager: User, requests: int, warmup: int) -> dict[str, Any]:
    from embudo.bench.pages import _quiet_request_log, _static_files

    now = clock.now()
    out: dict[str, Any] = {}
    clients: dict[str, Client] = {}
    for name, user in (("rep", rep), ("manager", manager)):
        c = Client(SERVER_NAME=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
        c.force_login(user)
        clients[name] = c
    with _quiet_request_log(), _static_files():
        out["inbox_rep"] = _time(clients["rep"], inbox_urls(rep), requests, warmup)
        out["team_manager"] = _time(clients["manager"], ["/inbox/team/"], max(10, requests // 4), warmup // 2)
        out["team_workload"] = _time(clients["manager"], ["/inbox/team/workload/"], 10, 2)
    sql, params = selectors.inbox_sql(rep.pk, selectors.InboxFilters(), now, limit=51, offset=0)
    out["explain_inbox"] = _explain(sql, params)
    sql2, params2 = selectors.inbox_sql(rep.pk, selectors.InboxFilters(grade="hot"), now, limit=51, offset=0)
    out["explain_inbox_hot"] = _explain(sql2, params2)
    return out


def run(
    *, requests: int = 120, warmup: int = 12, per_rep: int = 300, breached_per_rep: int = 20, with_index: bool = True
) -> dict[str, Any]:
    """Seed SLA clocks and snoozes, time the pages as the schema is, then (``with_index``) with the proposed
    leads index; everything is rolled back."""
    rep = User.objects.get(email=REP_EMAIL)
    manager = User.objects.filter(email=MANAGER_EMAIL).first() or User.objects.filter(role="manager").first()
    if manager is None:
        raise RuntimeError("No manager in the bench database; run `embudo bench seed` first.")
    report: dict[str, Any] = {}
    try:
        with transaction.atomic():
            # Apps of this release the bench DB may not have yet (followups, pipeline…): migrated here,
            # rolled back with the rest.
            from django.core.management import call_command

            call_command("migrate", verbosity=0, skip_checks=True)
            report["seeded"] = _seed_sla(random.Random(7), per_rep=per_rep, breached_per_rep=breached_per_rep)  # noqa: S311
            report["rep_counts"] = selectors.count_inbox(rep, now=clock.now())
            report["as_is"] = _measure(rep, manager, requests, warmup)
            if with_index:
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(PROPOSED_INDEX)
                    cursor.execute("ANALYZE leads_lead")
                report["index_build_s"] = round(time.perf_counter() - started, 1)
                report["with_index"] = _measure(rep, manager, requests, warmup)
            raise _Rollback
    except _Rollback:
        pass
    best = report.get("with_index") or report["as_is"]
    report["figures"] = {
        "inbox_rep_p50_ms": report["as_is"]["inbox_rep"]["p50_ms"],
        "inbox_rep_p95_ms": report["as_is"]["inbox_rep"]["p95_ms"],
        "team_manager_p95_ms": report["as_is"]["team_manager"]["p95_ms"],
        "team_workload_fragment_p95_ms": report["as_is"]["team_workload"]["p95_ms"],
        "inbox_query_ms": report["as_is"]["explain_inbox"]["execution_ms"],
        "with_index_inbox_rep_p50_ms": best["inbox_rep"]["p50_ms"],
        "with_index_inbox_rep_p95_ms": best["inbox_rep"]["p95_ms"],
        "with_index_team_manager_p95_ms": best["team_manager"]["p95_ms"],
        "with_index_inbox_query_ms": best["explain_inbox"]["execution_ms"],
    }
    return report


def main() -> None:
    report = run()

    def brief(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: brief(v) for k, v in value.items() if k != "plan"}
        return value

    print(json.dumps(brief(report), indent=2, default=str))
    for phase in ("as_is", "with_index"):
        for key in ("explain_inbox", "explain_inbox_hot"):
            if phase in report:
                print(f"\n{phase} {key}: indexes {report[phase][key]['indexes']}\n{report[phase][key]['plan']}")
