"""``embudo bench intake-batch``: ``POST /api/v1/leads/batch`` through ``embudo serve`` under load.

The same server, leads and CPU accounting as ``bench intake-api`` (gunicorn, 2 workers × 4 threads, on loopback
against the benchmark database), but each request carries ``--batch`` new leads (default 100), sent by
``--clients`` keep-alive connections (default 4) from a separate process; ``--routed`` publishes speed-to-lead's
rule set (50 reps in 5 pools) for the run, so every lead is also assigned. Figures: leads per second, the
requests' p50/p99, and the CPU per lead of the server and of PostgreSQL. What it added is deleted afterwards.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from embudo.bench import intake_api


def _batch_body(tag: str, start: int, size: int, rng: random.Random) -> bytes:
    items = [json.loads(intake_api.lead_body(tag, start + i, rng)) for i in range(size)]
    return json.dumps({"items": items}).encode()


def _client(port: int, token: str, tag: str, size: int, deadline: float, out: list[tuple[int, int, float]]) -> None:
    """One keep-alive connection sending batches until the deadline: (HTTP status, items stored, ms)."""
    rng = random.Random(tag)  # noqa: S311 - test data, not secrets
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 0
    while time.monotonic() < deadline:
        body = _batch_body(tag, n, size, rng)
        n += size
        t = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/leads/batch", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            stored = 0
            if response.status == 200:
                stored = sum(1 for item in json.loads(data)["items"] if item["status_code"] in (200, 201))
            out.append((response.status, stored, (time.perf_counter() - t) * 1000))
        except (OSError, http.client.HTTPException):
            out.append((0, 0, (time.perf_counter() - t) * 1000))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.close()


def _load(port: int, token: str, seconds: float, clients: int, size: int, run_tag: str, queue: Any) -> None:
    """Entry point of the load process."""
    deadline = time.monotonic() + seconds
    queue.put(
        intake_api.run_clients(clients, lambda i, out: _client(port, token, f"{run_tag}-{i}", size, deadline, out))
    )


def run(
    *, seconds: float, clients: int, batch: int, workers: int, threads: int, port: int, stdout: Any,
    routed: bool = False,
) -> intake_api.Outcome:  # fmt: skip
    # Imported here, not at the top: the load process imports this module to run ``_load`` without Django set up.
    from embudo.bench import routing
    from embudo.leads.models import Lead

    routing.ensure_migrated()
    leftover_rule_sets = routing.remove_leftover_bench_rules()
    token = intake_api.bench_token()
    port = port or intake_api.free_port()
    key_index = intake_api.settle()
    leads_before = intake_api.count_leads()
    before = intake_api.max_ids()
    jobs_before = routing.max_job_id()
    # --routed: speed-to-lead's rule set (50 reps in 5 pools) published for the run, so every lead is assigned.
    published = routing.publish_bench_rules(routing.ensure_pools(routing.ensure_reps())) if routed else None
    log = Path(tempfile.gettempdir()) / f"embudo-bench-intake-batch-{port}.log"
    server = intake_api.Server(port=port, workers=workers, threads=threads, log=log)
    run_tag = uuid.uuid4().hex[:10]
    spawn = multiprocessing.get_context("spawn")
    try:
        server.wait_ready()
        warm: Any = spawn.Queue()  # both workers import everything and open their connections
        _load(port, token, 2.0, 2, batch, f"{run_tag}w", warm)
        warm.get()
        stdout.write(f"server ready on 127.0.0.1:{port}; {clients} clients × {batch} leads per request, "
                     f"{seconds:.0f} s\n")  # fmt: skip
        meter = intake_api.CpuMeter(server)
        meter.start()
        queue: Any = spawn.Queue()
        process = spawn.Process(target=_load, args=(port, token, seconds, clients, batch, run_tag, queue))
        process.start()
        data = queue.get(timeout=seconds + 300)
        process.join(timeout=30)
        meter.stop()
    finally:
        server.stop()
        # Leads of the run (the warm-up's too) that have an owner: all of them when routed.
        assigned = Lead.objects.filter(pk__gt=before["leads_lead"], owner_id__isnull=False).count()
        try:
            if routed:
                routing.cleanup_lead_rows(before["leads_lead"], jobs_before)
            intake_api.cleanup(before)
        finally:
            if published is not None:
                routing.restore_rules(*published)
    results = data["results"]
    ok = [ms for status, _, ms in results if status == 200]
    stored = sum(n for _, n, _ in results)
    elapsed = data["elapsed"]
    figures = {
        "leads_per_s": round(stored / elapsed, 1) if elapsed else 0.0,
        "requests_ok": len(ok),
        "leads": stored,
        "failed_requests": len(results) - len(ok),
        "failed_items": len(ok) * batch - stored,
        "request_p50_ms": round(intake_api.percentile(ok, 50), 1),
        "request_p99_ms": round(intake_api.percentile(ok, 99), 1),
        "seconds": round(elapsed, 1),
        "assigned_leads": assigned,
        "cpu_ms_per_lead": meter.per_item_ms(stored),
        "machine_busy_pct": meter.machine_busy_pct,
    }
    parameters = {
        "seconds": seconds,
        "clients": clients,
        "batch": batch,
        "routed": routed,
        "server_workers": workers,
        "server_threads": threads,
        "leads_stored": leads_before,
        "dedupe_key_index": key_index,
        "leftover_bench_rule_sets_removed": leftover_rule_sets,
    }
    return intake_api.Outcome(parameters=parameters, figures=figures)
