"""``embudo bench no-loss``: submissions under failures; every acknowledged one must end as exactly one lead.

Load (default 10,000 submissions, each with a unique email, phone and idempotency key):

- part through HTTP, ``POST /api/v1/leads`` on ``embudo serve`` (2 workers), processed in the
  request; acknowledged = a 2xx answer. A failed request is retried with the same
  ``Idempotency-Key`` (up to 3 attempts), as a real client would;
- part the way webhooks work (``--deferred-share``, default half): ``capture.services.receive_submission``
  (committed) then a deferred ``capture.process_submission`` job, from client threads in this
  process; acknowledged = both returned.

Meanwhile the job worker (``embudo worker``) is SIGKILLed every ``--kill-every`` seconds and
restarted, and twice (``--drops``) every other connection to the database is terminated with
``pg_terminate_backend``. Then a worker is left running and the benchmark waits for recovery (the
jobs still queued, the ``capture.sweep_open_submissions`` safety net every minute, retries of
failed submissions) and checks each acknowledged submission: ``lost`` = no lead with its email,
or its submission not processed into that lead; ``duplicated`` = more than one lead with its
email or phone, or more than one submission for its idempotency key. What the run added is deleted.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embudo.bench import intake_api
from embudo.bench.intake_api import Outcome


class Worker:
    """``embudo worker`` in its own process group; ``kill()`` is SIGKILL, like a crash or OOM kill."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("a")
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "embudo.cli", "worker"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ},
        )  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.kills += 1

    def stop(self) -> None:
        intake_api.stop_process_group(self.process)
        self.log.close()


def drop_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _payload(tag: str, n: int, rng: random.Random) -> dict[str, Any]:
    return {
        "email": f"noloss.{tag}.{n}@example.org",
        "first_name": rng.choice(["Ana", "Luis", "Marta", "Jorge"]),
        "last_name": rng.choice(["Ruiz", "Soto", "Vega"]),
        "phone": f"+34 7{n % 10**8:08d}",
    }


def _api_client(port: int, token: str, items: list[tuple[str, dict[str, Any]]], acked: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for key, payload in items:
        body = json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key}
        for _attempt in range(3):
            try:
                conn.request("POST", "/api/v1/leads", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 300:
                    acked.append(key)
                    break
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            time.sleep(0.2)
    conn.close()


def _deferred_client(items: list[tuple[str, dict[str, Any]]], acked: list[str]) -> None:
    from django.db import connection, transaction
    from procrastinate.contrib.django import app as procrastinate_app

    from embudo.capture import services

    for key, payload in items:
        for _attempt in range(3):
            try:
                submission, _is_new = services.receive_submission(
                    channel="api", payload=payload, meta=services.SubmissionMeta(), idempotency_key=key
                )
                with transaction.atomic():
                    procrastinate_app.configure_task("capture.process_submission").defer(submission_id=submission.pk)
                acked.append(key)
                break
            except Exception:  # noqa: BLE001 - a dropped connection; retry like a webhook provider would
                connection.close()
                time.sleep(0.2)
    connection.close()


def _bench_user_id() -> int:
    from embudo.accounts.models import User

    return int(User.objects.get(email=intake_api.BENCH_USER_EMAIL).pk)


def _status(keys: list[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM capture_submission WHERE channel = 'api' AND idempotency_key = ANY(%s) "
            "GROUP BY status",
            [keys],
        )
        return {status: int(n) for status, n in cursor.fetchall()}


def _verify(keys: list[str], emails: dict[str, str], phones: dict[str, str]) -> tuple[int, int, list[str]]:
    from django.db import connection

    lost: list[str] = []
    duplicated = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT idempotency_key, count(*), max(status), max(lead_id) FROM capture_submission "
            "WHERE channel = 'api' AND idempotency_key = ANY(%s) GROUP BY idempotency_key",
            [keys],
        )
        submissions = {k: (int(n), status, lead_id) for k, n, status, lead_id in cursor.fetchall()}
        cursor.execute(
            "SELECT lower(email), count(*), max(id) FROM leads_lead WHERE lower(email) = ANY(%s) GROUP BY 1",
            [[emails[k] for k in keys]],
        )
        by_email = {e: (int(n), lead_id) for e, n, lead_id in cursor.fetchall()}
        cursor.execute(
            "SELECT phone, count(*) FROM leads_lead WHERE phone = ANY(%s) GROUP BY 1", [[phones[k] for k in keys]]
        )
        by_phone = {p: int(n) for p, n in cursor.fetchall()}
    for key in keys:
        n_sub, status, sub_lead = submissions.get(key, (0, "", None))
        n_lead, lead_id = by_email.get(emails[key], (0, None))
        if n_sub == 0 or n_lead == 0 or status != "processed" or sub_lead != lead_id:
            lost.append(key)
        elif n_sub > 1 or n_lead > 1 or by_phone.get(phones[key], 0) > 1:
            duplicated += 1
    return len(lost), duplicated, lost[:20]


# The periodic jobs (sweepers, the dedupe scan…) that are always queued; anything beyond is a backlog.
MAX_QUEUED_BEFORE = 100


class QueueNotEmpty(Exception):
    """The job queue holds a backlog that the run's worker would have to work through first."""


def _queued_jobs() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def run(
    *,
    submissions: int,
    kill_every: float,
    drops: int,
    deferred_share: float,
    recovery_timeout: float,
    port: int,
    stdout: Any,
    api_clients: int = 6,
    deferred_clients: int = 4,
) -> Outcome:
    token = intake_api.bench_token()
    bench_user_id = _bench_user_id()
    port = port or intake_api.free_port()
    queued = _queued_jobs()
    if queued > MAX_QUEUED_BEFORE:
        raise QueueNotEmpty(
            f"{queued:,} jobs are already queued: a worker would work through them before this run's, so the run "
            "would measure that backlog. Let `embudo worker` drain the queue first."
        )
    before = intake_api.max_ids()
    tag = uuid.uuid4().hex[:8]
    rng = random.Random(tag)  # noqa: S311 - test data, not secrets
    items = [(f"noloss-{tag}-{n}", _payload(tag, n, rng)) for n in range(submissions)]
    emails = {k: p["email"] for k, p in items}
    phones = {k: p["phone"].replace(" ", "") for k, p in items}
    n_deferred = int(submissions * deferred_share)
    deferred_items, api_items = items[:n_deferred], items[n_deferred:]
    log_dir = Path(tempfile.mkdtemp(prefix="embudo-bench-no-loss-"))
    server = intake_api.Server(port=port, workers=2, threads=4, log=log_dir / "server.log")
    worker = Worker(log_dir / "worker.log")
    acked_api: list[str] = []
    acked_deferred: list[str] = []
    drops_done = 0
    started = time.perf_counter()
    try:
        server.wait_ready()
        worker.start()
        threads = [
            threading.Thread(target=_api_client, args=(port, token, api_items[i::api_clients], acked_api))
            for i in range(api_clients)
        ] + [
            threading.Thread(target=_deferred_client, args=(deferred_items[i::deferred_clients], acked_deferred))
            for i in range(deferred_clients)
        ]
        for thread in threads:
            thread.start()
        next_kill = time.monotonic() + kill_every
        drop_at = [0.3, 0.6][:drops] + [0.8] * max(0, drops - 2)

        def progress() -> float:
            return (len(acked_api) + len(acked_deferred)) / max(1, submissions)

        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
            # Kill on schedule, and at least once half-way, however fast the load goes.
            if time.monotonic() >= next_kill or (worker.kills == 0 and progress() >= 0.5):
                worker.kill()
                worker.start()
                next_kill = time.monotonic() + kill_every
            if drops_done < len(drop_at) and progress() >= drop_at[drops_done]:
                terminated = _retry(drop_connections)
                drops_done += 1
                stdout.write(f"dropped {terminated} database connections at {progress():.0%}\n")
        load_s = time.perf_counter() - started
        stdout.write(f"load done in {load_s:.1f} s; worker killed {worker.kills} times; waiting for recovery\n")
        # Recovery: one worker left running (queued jobs, the minute sweeper, retries).
        if worker.process is None or worker.process.poll() is not None:
            worker.start()
        # The API stores a client's key scoped to its user (``capture.api._stored_key``); the deferred clients
        # store theirs as given.
        stored_key = {key: f"u{bench_user_id}:{key}" for key, _payload in api_items}
        acked = [stored_key[key] for key in acked_api] + acked_deferred
        for key, stored in stored_key.items():
            emails[stored], phones[stored] = emails[key], phones[key]
        deadline = time.monotonic() + recovery_timeout
        while time.monotonic() < deadline:
            counts = _retry(lambda: _status(acked))
            open_ = counts.get("pending", 0) + counts.get("failed", 0)
            if open_ == 0:
                break
            time.sleep(2)
        recovery_s = time.perf_counter() - started - load_s
        lost, duplicated, lost_sample = _verify(acked, emails, phones)
    finally:
        worker.stop()
        server.stop()
    intake_api.cleanup(before)
    figures = {
        "acknowledged": len(acked),
        "lost": lost,
        "duplicated": duplicated,
        "submitted": submissions,
        "acknowledged_api": len(acked_api),
        "acknowledged_deferred": len(acked_deferred),
        "worker_kills": worker.kills,
        "connection_drops": drops_done,
        "load_seconds": round(load_s, 1),
        "recovery_seconds": round(recovery_s, 1),
    }
    parameters = {
        "submissions": submissions,
        "kill_every_s": kill_every,
        "drops": drops,
        "deferred_share": deferred_share,
        "recovery_timeout_s": recovery_timeout,
        "api_clients": api_clients,
        "deferred_clients": deferred_clients,
    }
    return Outcome(parameters=parameters, figures=figures, extra={"lost_sample": lost_sample, "logs": str(log_dir)})


def _retry(function: Callable[[], Any], attempts: int = 5) -> Any:
    from django.db import connection

    for attempt in range(attempts):
        try:
            return function()
        except Exception:
            connection.close()
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return None
