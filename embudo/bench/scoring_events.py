"""Event ingestion with score updates (part of ``embudo bench scoring``): ``events_per_s``.

Calls ``tracking.services.ingest_events`` directly with realistic API batches (1,000 events: ~30 %
pricing page views, other page views, email opens/clicks, downloads, webinars, demo requests, form
and product events; ~90 % for existing leads by id across ~250 leads per batch, ~10 % anonymous
visitors; ISO timestamps; a client id per event, as retry-safe API clients send), including the
score update (``scoring.score_activity`` once per batch with the distinct leads). A lead the other
worker's batch holds at that moment is not waited for: its batch defers a job that scores it from its
history (``tracking.score_contended_leads``); each worker runs its batches' jobs after its batches, and that
time counts (``deferred_jobs_s``).

Each batch runs in its own transaction that is rolled back at the end, so the bench database (1M
leads) is left exactly as it was: events, client ids, and whatever scoring wrote (ledger, scores).
All of the work runs before the rollback (inserts, index maintenance, scoring); only COMMIT's WAL
flush is not counted (about a millisecond per batch). Goal: ≥ 20,000 events/s on 2 cores.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, connections, transaction

from embudo.bench.intake_api import settle_tables
from embudo.bench.pages import NotSeeded, percentile
from embudo.core import clock
from embudo.core.runtime import freeze_startup_objects
from embudo.scoring import services as scoring_services
from embudo.tracking import services
from embudo.tracking.domain import events as domain

GOAL_EVENTS_PER_S = 20_000
PAGES = ["/", "/product", "/features", "/blog/lead-scoring-101", "/customers", "/docs/api", "/about", "/contact"]
TITLES = {"/pricing": "Pricing plans", "/case-studies/acme": "Case study: Acme"}


@dataclass
class Outcome:
    parameters: dict[str, Any]
    figures: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def _lead_pool(size: int, rng: random.Random) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = int(cursor.fetchone()[0])
        if leads == 0:
            raise NotSeeded("No leads stored; seed them first (embudo bench seed).")
        percent = min(100.0, 100.0 * size * 2 / leads)
        cursor.execute(f"SELECT id FROM leads_lead TABLESAMPLE SYSTEM ({percent:.4f}) REPEATABLE (42)")  # noqa: S608
        ids = [row[0] for row in cursor.fetchall()]
    rng.shuffle(ids)
    return ids[:size] or ids


def _event(rng: random.Random, now_s: str, n: int, run: str) -> dict[str, Any]:
    roll = rng.random()
    props: dict[str, Any]
    if roll < 0.30:
        kind, props = "page_view", {"url": "https://www.example.com/pricing", "path": "/pricing",
                                    "title": TITLES["/pricing"]}  # fmt: skip
    elif roll < 0.60:
        path = rng.choice([*PAGES, "/case-studies/acme"])
        kind, props = "page_view", {"url": f"https://www.example.com{path}", "path": path,
                                    "title": TITLES.get(path, path.strip("/").title() or "Home")}  # fmt: skip
    elif roll < 0.75:
        kind, props = "email_opened", {"campaign": "spring-launch", "subject": "New: scoring you can trust"}
    elif roll < 0.85:
        kind, props = "email_clicked", {"campaign": "spring-launch", "url": "https://www.example.com/pricing"}
    elif roll < 0.90:
        kind, props = "content_downloaded", {"title": "Lead scoring guide", "format": "pdf"}
    elif roll < 0.93:
        kind, props = "webinar_attended", {"title": "Scoring 101", "minutes": rng.randint(5, 60)}
    elif roll < 0.96:
        kind, props = "form_submitted", {"form": "contact"}
    elif roll < 0.98:
        kind, props = "demo_requested", {"plan": rng.choice(["team", "business"])}
    else:
        kind, props = rng.choice(["product_signed_up", "product_active"]), {"plan": "trial"}
    return {"type": kind, "timestamp": now_s, "properties": props, "id": f"{run}-{n}"}


def _batches(total: int, batch: int, leads: list[int], seed: int) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible load, not security
    now = clock.now()
    run = f"bench{seed}"
    batches: list[list[dict[str, Any]]] = []
    n = 0
    for _ in range(max(1, total // batch)):
        people = [leads[rng.randrange(len(leads))] for _ in range(max(1, batch // 4))]
        items = []
        for _ in range(batch):
            event = _event(rng, (now - timedelta(seconds=rng.randrange(3600))).isoformat(), n, run)
            if rng.random() < 0.10:
                event["visitor_id"] = f"benchvisitor{rng.randrange(10**6):06d}"
            else:
                event["lead_id"] = people[rng.randrange(len(people))]
            items.append(event)
            n += 1
        batches.append(items)
    return batches


def _ingest_share(batches: list[list[dict[str, Any]]], warmup: int, score: bool) -> dict[str, Any]:
    """Run batches in this process (one DB connection): per-batch seconds and time spent in scoring."""
    score_seconds = 0.0
    real_score = scoring_services.score_leads
    real_product = services._product_activity

    def timed_score(*args: Any, **kwargs: Any) -> Any:
        nonlocal score_seconds
        t0 = time.perf_counter()
        try:
            return real_score(*args, **kwargs) if score else {}
        finally:
            score_seconds += time.perf_counter() - t0

    times: list[float] = []
    stored = 0
    freeze_startup_objects()  # as the API's server workers do at start (config/wsgi.py)
    scoring_services.score_leads = timed_score
    if not score:
        services._product_activity = lambda lead_ids: None
    deferred: list[tuple[list[int], list[int]]] = []  # the score_contended_leads jobs the batches deferred
    try:
        for i, items in enumerate(batches):
            if i == warmup:
                score_seconds = 0.0
            t0 = time.perf_counter()
            with transaction.atomic():
                result = services.ingest_events(items, scope="bench:scoring-events", source="api")
                transaction.set_rollback(True)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
                stored += result.stored
                if result.deferred_lead_ids:
                    contended = set(result.deferred_lead_ids)
                    products = sorted({e["lead_id"] for e in items if e.get("lead_id") in contended
                                       and e["type"] in domain.PRODUCT_TYPES})  # fmt: skip
                    deferred.append((result.deferred_lead_ids, products))
        # The jobs' work counts too: this worker runs them after its batches (a job worker would, soon after).
        t0 = time.perf_counter()
        for lead_ids, products in deferred:
            with transaction.atomic():
                services.score_contended_leads(lead_ids, products)
                transaction.set_rollback(True)
        jobs_seconds = time.perf_counter() - t0
    finally:
        scoring_services.score_leads = real_score
        services._product_activity = real_product
        connection.close()
    return {"times": times, "stored": stored, "score_seconds": score_seconds, "jobs_seconds": jobs_seconds,
            "deferred_leads": sum(len(ids) for ids, _p in deferred), "deferred_jobs": len(deferred)}  # fmt: skip


# Tables the rolled-back batches leave dead rows in (inserted events and keys, updated leads and scores).
_TOUCHED = ("core_domainevent", "tracking_eventkey", "scoring_scoreentry", "scoring_scorecontribution",
            "leads_lead", "leads_leadscorerank", "procrastinate_jobs")  # fmt: skip


def _vacuum_after() -> None:
    """Leave the bench database as the run found it: the rolled-back batches' rows are dead but still in the
    indexes, all of them under the same sampled leads. Unvacuumed, every later run (of any benchmark) scans
    more of them."""
    settle_tables(_TOUCHED, analyze=False)


def measure(
    *, events: int = 200_000, batch: int = 1000, seed: int = 42, warmup: int = 3, score: bool = True,
    workers: int = 2,
) -> dict[str, Any]:  # fmt: skip
    """Ingest ``events`` in batches of ``batch`` from ``workers`` processes (the API runs two on two
    cores); every batch is rolled back (the DB stays as it was). ``events_per_s`` is all stored events
    over the wall time of the measured phase.

    ``score=False`` measures ingestion alone (scoring and the PQL lifecycle hook replaced by no-ops), to
    see what scoring costs.
    """
    rng = random.Random(seed)  # noqa: S311
    leads = _lead_pool(50_000, rng)
    batches = _batches(events, batch, leads, seed)
    warm = _batches(warmup * batch, batch, leads, seed + 1)
    shares = [warm + batches[w::workers] for w in range(workers)]
    connections.close_all()  # forked workers open their own
    started = time.perf_counter()
    if workers == 1:
        results = [_ingest_share(shares[0], warmup, score)]
    else:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_ingest_share, shares, [warmup] * workers, [score] * workers))
    wall = time.perf_counter() - started
    _vacuum_after()
    # The warm-up batches run in each worker before its measured ones; take them out of the wall time. Each
    # worker's time includes the jobs its batches deferred (leads the other worker held; see score_activity).
    measured = max(sum(r["times"]) + r["jobs_seconds"] for r in results)
    times = [t for r in results for t in r["times"]]
    stored = sum(r["stored"] for r in results)
    busy = sum(times)
    t0 = time.perf_counter()
    now = clock.now()
    for items in batches:
        for raw in items:
            domain.clean_event(raw, now=now)
    validate_s = time.perf_counter() - t0
    return {
        "events_per_s": round(stored / measured) if measured else 0,
        "batches": len(times),
        "events": stored,
        "batch_size": batch,
        "workers": workers,
        "p50_batch_ms": round(percentile([t * 1000 for t in times], 0.50), 1),
        "p99_batch_ms": round(percentile([t * 1000 for t in times], 0.99), 1),
        "share_validation": round(validate_s / busy, 3) if busy else None,
        "share_scoring": round(sum(r["score_seconds"] for r in results) / busy, 3) if busy else None,
        "with_scoring": score,
        "deferred_leads": sum(r["deferred_leads"] for r in results),
        "deferred_jobs": sum(r["deferred_jobs"] for r in results),
        "deferred_jobs_s": round(sum(r["jobs_seconds"] for r in results), 2),
        "wall_s": round(wall, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "goal_events_per_s": GOAL_EVENTS_PER_S,
        "goal_met": bool(measured) and stored / measured >= GOAL_EVENTS_PER_S,
    }


def run(*, events: int = 200_000, batch: int = 1000, seed: int = 42, workers: int = 2, stdout: Any = None) -> Outcome:
    """Shaped like the other benchmarks: parameters and figures for ``report.write_result``."""
    figures = measure(events=events, batch=batch, seed=seed, workers=workers)
    if stdout is not None:
        stdout.write(f"  {figures['events']:,} events in {figures['batches']} batches: {figures['events_per_s']:,}/s")
    return Outcome(parameters={"events": events, "batch": batch, "seed": seed, "workers": workers}, figures=figures)
