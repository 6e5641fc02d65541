"""``embudo bench intake-api``: single-lead ``POST /api/v1/leads`` through the whole intake path.

The server is ``embudo serve`` (gunicorn, ``--workers 2 --threads 4`` by default) started as a
subprocess on loopback against the benchmark database; the load comes from a separate process:
``wrk`` when it is installed (a Lua script gives every request a unique email), else a Python
client (threads with keep-alive connections). Each request creates a new lead (unique email and
phone). Figures: ``leads_per_s`` (201 responses per second), ``p50_ms`` / ``p99_ms`` (client-side
latency of those requests). What the run created is deleted afterwards (``--keep`` not offered:
the database must stay at its seeded size for the next benchmark).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOAL_LEADS_PER_S = 300
GOAL_P99_MS = 100
# The floor: the lightest real endpoint (see ``measure_floor``).
FLOOR_PATH = "/api/v1/me"


@dataclass
class Outcome:
    parameters: dict[str, Any]
    figures: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


BENCH_USER_EMAIL = "bench-intake@embudo.local"


def bench_token(email: str = BENCH_USER_EMAIL) -> str:
    """An admin user and a fresh API token for the benchmark clients."""
    from embudo.accounts import services as accounts_services

    accounts_services.create_user(email=email, role="admin", password=None, full_name="Benchmark client")
    _, token = accounts_services.create_api_token(user_email=email, name=f"bench {uuid.uuid4().hex[:8]}")
    return token


class Server:
    """``embudo serve`` in its own process group, on loopback."""

    def __init__(self, *, port: int, workers: int, threads: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                sys.executable,
                "-m",
                "embudo.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--no-collectstatic",
            ],  # fmt: skip
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ},
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The server exited: see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                # 503 = up but no job worker heartbeat: the web server itself answers.
                if conn.getresponse().status in (200, 503):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"The server did not answer /healthz within {timeout:.0f} s: see {self.log}")

    def stop(self) -> None:
        stop_process_group(self.process)
        self._log_handle.close()

    def connections_per_worker(self) -> list[int]:
        """The clients' established connections held by each worker process, largest first (Linux ``/proc``;
        [] elsewhere). Why it is recorded: a keep-alive connection stays with the worker that accepted it, and a
        worker's threads share one GIL, so all of the load's connections on one worker leave it ~one core of
        Python while the other idles (intake-api: 77.6 leads/s with 8 + 0 connections, 113-123 split)."""
        established: set[str] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()  # sl, local address:port (hex), remote, state (01 = established), …, inode
                if int(fields[1].rsplit(":", 1)[1], 16) == self.port and fields[3] == "01":
                    established.add(fields[9])
        counts = []
        for pid in _children(self.process.pid):
            try:
                targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
            except OSError:
                continue
            held = sum(1 for target in targets if target.startswith("socket:[") and target[8:-1] in established)
            counts.append(held)
        return sorted(counts, reverse=True)


class ConnectionSampler(threading.Thread):
    """``server.connections_per_worker()`` at a quarter, half and three quarters of a ``seconds`` run; the
    samples show the split at the start and whether it spread out (keep-alive connections are closed after
    ``EMBUDO_WEB_REQUESTS_PER_CONNECTION`` requests, see ``embudo.ops.gunicorn_hooks``)."""

    def __init__(self, server: Server, seconds: float) -> None:
        super().__init__(daemon=True)
        self.server, self.seconds = server, seconds
        self.samples: list[list[int]] = []

    def run(self) -> None:
        started = time.monotonic()
        for fraction in (0.25, 0.5, 0.75):
            time.sleep(max(0.0, started + self.seconds * fraction - time.monotonic()))
            self.samples.append(self.server.connections_per_worker())


class CpuMeter:
    """CPU seconds spent between ``start()`` and ``stop()`` by the server (its process group: gunicorn and its
    workers) and by PostgreSQL (every ``postgres`` process on the machine: backends, WAL writer, checkpointer,
    autovacuum), from Linux ``/proc`` (zeros elsewhere). Why it is recorded: per lead, it is the cost, which
    the shared machine's noise moves much less than throughput, and it says how far a goal is: 300 leads/s on
    2 cores leaves 6.7 ms of CPU per lead for everything."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._start: dict[str, float] = {}
        self._machine_start: tuple[int, int] = (0, 0)
        self.seconds: dict[str, float] = {"web": 0.0, "database": 0.0}
        # The share of the machine's CPU time that was busy (every process, not only ours): below ~95 % the run
        # was not CPU-bound, so its throughput says more about concurrency (threads, connections) than cost.
        self.machine_busy_pct = 0.0

    @staticmethod
    def _machine() -> tuple[int, int]:
        """(busy, total) ticks of all CPUs since boot, from the first line of ``/proc/stat`` ((0, 0) elsewhere)."""
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except (OSError, ValueError):
            return (0, 0)
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values) - idle, sum(values))

    def _read(self) -> dict[str, float]:
        ticks = {"web": 0, "database": 0}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name = text[text.find("(") + 1 : text.rfind(")")]
            fields = text.rsplit(")", 1)[1].split()
            # utime + stime + cutime + cstime: a child that exits is added to its parent's c-times when reaped,
            # so a process (a gunicorn worker, a PostgreSQL backend) ending during the run is still counted.
            used = sum(int(value) for value in fields[11:15])
            if int(fields[2]) == self.server.process.pid:  # process group id: the server's session
                ticks["web"] += used
            elif name == "postgres":
                ticks["database"] += used
        hertz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return {key: value / hertz for key, value in ticks.items()}

    def start(self) -> None:
        self._start = self._read()
        self._machine_start = self._machine()

    def stop(self) -> dict[str, float]:
        end = self._read()
        self.seconds = {key: max(0.0, end[key] - self._start.get(key, 0.0)) for key in end}
        busy, total = self._machine()
        elapsed = total - self._machine_start[1]
        self.machine_busy_pct = round(100 * (busy - self._machine_start[0]) / elapsed, 1) if elapsed > 0 else 0.0
        return self.seconds

    def per_item_ms(self, items: int) -> dict[str, float]:
        """CPU milliseconds per lead (or request), by side and in total."""
        if not items:
            return {"web": 0.0, "database": 0.0, "total": 0.0}
        web, database = self.seconds["web"] * 1000 / items, self.seconds["database"] * 1000 / items
        return {"web": round(web, 2), "database": round(database, 2), "total": round(web + database, 2)}


def cpu_budget_ms(rate_per_s: float) -> float:
    """CPU milliseconds per item the machine has at ``rate_per_s`` with every core busy."""
    return round((os.cpu_count() or 1) * 1000 / rate_per_s, 2)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc/*/stat``; [] where there is no /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


def stop_process_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a process started with ``start_new_session=True`` and its children; SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


SYLLABLES = ("ma", "ri", "jo", "se", "lu", "ci", "an", "to", "el", "na", "pe", "dro", "car", "men", "ja", "vi", "er",
             "sol", "fe", "li", "pa", "blo", "mon", "te", "ro", "sa", "gar", "cia", "lo", "pez")  # fmt: skip


def synthetic_word(rng: random.Random, syllables: int) -> str:
    """A made-up name: with fuzzy matching at intake, a few repeated names and one company would make
    most requests duplicates of earlier ones (merges and review pairs, not the creation path measured)."""
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def lead_body(tag: str, n: int, rng: random.Random) -> bytes:
    return json.dumps(
        {
            "email": f"api.{tag}.{n}@example.org",
            "first_name": synthetic_word(rng, 2),
            "last_name": synthetic_word(rng, 3),
            "phone": f"+34 6{rng.randrange(10**8):08d}",
            "company_name": f"{synthetic_word(rng, 2)} {synthetic_word(rng, 2)}",
            "country": "España",
        }
    ).encode()


def _client_thread(
    port: int, token: str, tag: str, deadline: float, out: list[tuple[int, float]], *, reconnect: bool = False
) -> None:
    """One keep-alive connection sending requests until the deadline: new leads, or the floor's
    ``GET /api/v1/me`` when ``tag`` is empty. ``reconnect``: a new connection for every request instead."""
    rng = random.Random(tag)  # noqa: S311 - test data, not secrets
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if reconnect:
        headers["Connection"] = "close"
    n = 0
    while time.monotonic() < deadline:
        n += 1
        t = time.perf_counter()
        try:
            if tag:
                conn.request("POST", "/api/v1/leads", body=lead_body(tag, n, rng), headers=headers)
            else:
                conn.request("GET", FLOOR_PATH, headers=headers)
            response = conn.getresponse()
            response.read()
            out.append((response.status, (time.perf_counter() - t) * 1000))
            if reconnect:
                conn.close()
        except (OSError, http.client.HTTPException):
            out.append((0, (time.perf_counter() - t) * 1000))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def python_load(
    port: int, token: str, seconds: float, clients: int, run_tag: str, queue: Any, *, reconnect: bool = False
) -> None:
    """Entry point of the load process: ``clients`` threads until the deadline; results to ``queue``. An empty
    ``run_tag`` sends the floor's request instead of leads. ``reconnect``: see ``_client_thread``."""
    deadline = time.monotonic() + seconds
    queue.put(run_clients(clients, lambda i, out: _client_thread(
        port, token, f"{run_tag}-{i}" if run_tag else "", deadline, out, reconnect=reconnect
    )))  # fmt: skip


def run_clients(clients: int, client: Callable[[int, list[Any]], None]) -> dict[str, Any]:
    """``client(i, results)`` on ``clients`` threads at once; the elapsed seconds and every thread's results."""
    results: list[list[Any]] = [[] for _ in range(clients)]
    threads = [threading.Thread(target=client, args=(i, results[i])) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"elapsed": time.perf_counter() - started, "results": [r for rs in results for r in rs]}


# Prints the run's figures as one JSON line (``%%`` for ``%`` formatting of the script it ends).
WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("JSON{\\"requests\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, \\"non2xx\\": %%d, " ..
    "\\"errors\\": %%d, \\"duration_us\\": %%d}\\n", summary.requests, latency:percentile(50),
    latency:percentile(99), summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration))
end
"""

WRK_SCRIPT = (
    """
-- Each wrk thread has its own Lua state whose math.random starts from the same seed: without a
-- per-thread seed and tag, the threads would send identical leads (merges and lock waits, not
-- the creation path this benchmark measures).
local counter = 0
local tag = "%(tag)s"
local thread_count = 0
setup = function(thread)
  thread_count = thread_count + 1
  thread:set("thread_tag", tostring(thread_count))
end
init = function(args)
  tag = tag .. "-" .. thread_tag
  math.randomseed(tonumber(thread_tag) * 7919 + os.time())
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
-- A different person each time (names and company drawn from syllables): with fuzzy matching at intake,
-- one repeated name and company would make every request a duplicate of the previous ones.
local syllables = {"ma", "ri", "jo", "se", "lu", "ci", "an", "to", "el", "na", "pe", "dro", "car", "men", "ja",
  "vi", "er", "sol", "fe", "li", "pa", "blo", "mon", "te", "ro", "sa", "gar", "cia", "lo", "pez"}
local function word(n)
  local parts = {}
  for i = 1, n do parts[i] = syllables[math.random(1, #syllables)] end
  local w = table.concat(parts)
  return w:sub(1, 1):upper() .. w:sub(2)
end
request = function()
  counter = counter + 1
  local id = tostring(math.random(1, 1000000000)) .. "." .. counter
  local body = '{"email": "api.' .. tag .. '.' .. id .. '@example.org", "first_name": "' .. word(2) .. '", ' ..
    '"last_name": "' .. word(3) .. '", "company_name": "' .. word(2) .. ' ' .. word(2) .. '", ' ..
    '"country": "España", "phone": "+34 6' .. string.format("%%08d", math.random(0, 99999999)) .. '"}'
  return wrk.format(nil, "/api/v1/leads", nil, body)
end
"""
    + WRK_DONE
)


def wrk_load(port: int, token: str, seconds: float, clients: int, run_tag: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"tag": run_tag, "token": token})
    try:
        output = subprocess.run(  # noqa: S603 - fixed command line
            [shutil.which("wrk") or "wrk", "-t", "2", "-c", str(clients), "-d", f"{int(seconds)}s", "--latency",
             "-s", script.name, f"http://127.0.0.1:{port}/"],  # fmt: skip
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        )  # fmt: skip
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(ln for ln in output.stdout.splitlines() if ln.startswith("JSON"))
    data: dict[str, Any] = json.loads(line[4:])
    return data


WRK_FLOOR_SCRIPT = (
    """
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer %(token)s"
"""
    + WRK_DONE
)


def measure_floor(server: Server, token: str, *, seconds: float, clients: int, use_wrk: bool) -> dict[str, Any]:
    """The server's ceiling for its lightest real endpoint: ``GET /api/v1/me`` (token authentication, one query
    for the user's teams, a small JSON answer) under the same load, with its CPU per request: what a request
    costs before any of the intake's work, next to what a lead costs."""
    meter = CpuMeter(server)
    meter.start()
    if use_wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_FLOOR_SCRIPT % {"token": token})
        try:
            output = subprocess.run(  # noqa: S603 - fixed command line
                [shutil.which("wrk") or "wrk", "-t", "2", "-c", str(clients), "-d", f"{max(1, int(seconds))}s",
                 "--latency", "-s", script.name, f"http://127.0.0.1:{server.port}{FLOOR_PATH}"],  # fmt: skip
                capture_output=True, text=True, timeout=seconds + 60, check=True,
            )  # fmt: skip
        finally:
            Path(script.name).unlink(missing_ok=True)
        line = next(ln for ln in output.stdout.splitlines() if ln.startswith("JSON"))
        data = json.loads(line[4:])
        ok = int(data["requests"] - data["non2xx"] - data["errors"])
        elapsed = data["duration_us"] / 1e6
        p50, p99 = data["p50_us"] / 1000, data["p99_us"] / 1000
    else:
        queue: Any = multiprocessing.get_context("spawn").Queue()
        process = multiprocessing.get_context("spawn").Process(
            target=python_load, args=(server.port, token, seconds, clients, "", queue), daemon=True
        )
        process.start()
        loaded = queue.get(timeout=seconds + 120)
        process.join(timeout=30)
        answered = [ms for status, ms in loaded["results"] if status == 200]
        ok, elapsed = len(answered), loaded["elapsed"]
        p50, p99 = percentile(answered, 50), percentile(answered, 99)
    meter.stop()
    return {
        "path": FLOOR_PATH,
        "requests_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        **{f"cpu_ms_per_request_{side}": ms for side, ms in meter.per_item_ms(ok).items()},
    }


def group_commit_setting() -> dict[str, int]:
    """The server's group commit of single-lead requests (``capture.group_commit``; its environment is ours)."""
    from django.conf import settings

    return {"writers": settings.INTAKE_GROUP_COMMIT_WRITERS, "alone_up_to": settings.INTAKE_GROUP_COMMIT_ALONE_UP_TO}


def max_ids() -> dict[str, int]:
    """The highest id of each table a benchmark adds to, so ``cleanup`` can remove what it added."""
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in ("leads_lead", "core_domainevent", "capture_submission", "leads_company", "procrastinate_jobs"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed table names
            row = cursor.fetchone()
            out[table] = int(row[0]) if row else 0
    return out


def cleanup(before: dict[str, int]) -> None:
    """Delete what a benchmark added (rows with ids above ``before``)."""
    from django.db import connection

    from embudo.leads import services as leads_services

    with connection.cursor() as cursor:
        # Every other row keyed by a lead the run created (score ledger, dedupe keys, speed marks…):
        # left behind, stale dedupe keys crowd out real candidates in the next benchmarks.
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'lead_id' AND table_name NOT IN ('core_domainevent', 'capture_submission', "
            "'leads_lead') ORDER BY table_name"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DELETE FROM "{table}" WHERE lead_id > %s', [before["leads_lead"]])  # noqa: S608
        if "procrastinate_jobs" in before:
            # The run's jobs still queued (notifications, scoring of its leads…): left behind, a later run's worker
            # works through them first (seen: 22k jobs left by in-process runs delayed no-loss's by minutes).
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s AND status = 'todo'",
                           [before["procrastinate_jobs"]])  # fmt: skip
        cursor.execute("DELETE FROM dedupe_merge WHERE merged_id > %s", [before["leads_lead"]])
        cursor.execute("DELETE FROM dedupe_duplicatecandidate WHERE lead_b_id > %s", [before["leads_lead"]])
        cursor.execute("UPDATE leads_lead SET company_id = NULL WHERE company_id > %s", [before["leads_company"]])
        cursor.execute("DELETE FROM core_domainevent WHERE id > %s", [before["core_domainevent"]])
        cursor.execute("DELETE FROM capture_submission WHERE id > %s", [before["capture_submission"]])
        cursor.execute("DELETE FROM leads_lead WHERE id > %s", [before["leads_lead"]])
        cursor.execute("DELETE FROM leads_company WHERE id > %s", [before["leads_company"]])
    # The deletions queued their companies (leads_companystatspending): recount them, as the worker's drain
    # would, so the counts of the stored companies stay exact run after run.
    leads_services.drain_company_stats()


# What an intake writes and a benchmark's cleanup deletes again (plus their dependent rows).
INTAKE_TABLES = ("leads_lead", "leads_leadscorerank", "leads_ownerload", "dedupe_leadkey", "core_domainevent",
                 "capture_submission", "capture_leadattribution", "procrastinate_jobs", "routing_assignment",
                 "routing_speedtolead", "notifications_notification", "leads_companystatspending")  # fmt: skip


WARM_UP_SECONDS = 3.0


def warm_up(port: int, token: str, *, workers: int, threads: int, run_tag: str) -> None:
    """Untimed load with twice as many connections as the server has threads, so that every thread of every worker
    has served requests before the measured window: a gthread worker starts a thread only when its others are busy
    (and connections split unevenly between workers), and each thread opens its
    own database connection (a new backend: cold catalog caches, no prepared statements; see
    ``DB_CONN_MAX_AGE`` in the settings) and touches the pages written since the last checkpoint. A warm-up of 2
    connections left most of the 16 threads cold: the first second of ``speed-to-lead`` then had requests of
    100-250 ms, up to 40 of the 60 slowest of a 60 s run. A server that has been up has all of this done.

    Every request on a new connection: keep-alive connections stay with the worker that accepted them, and the
    warm-up's were seen split 25/7 (and all on one worker, the other idle for the whole warm-up), which left
    threads cold, again 36 of a 30 s run's 40 slowest leads in its first second. A new connection per request is
    accepted by whichever worker is then less busy, so both workers run all their threads."""
    warm: Any = multiprocessing.get_context("spawn").Queue()
    python_load(port, token, WARM_UP_SECONDS, 2 * workers * threads, run_tag, warm, reconnect=True)
    warm.get()


def settle() -> dict[str, int]:
    """Untimed, before a run: file the stored leads the fuzzy matcher's key index lacks (``ensure_key_index``),
    VACUUM (ANALYZE) what the intake writes and write out the dirty buffers: each intake benchmark deletes the
    ~6,000 leads it made, and the next run otherwise starts among their dead tuples (seen: 155k dead dedupe keys,
    102k dead score ranks) with autovacuum catching up on the same CPUs. Returns ``ensure_key_index``'s figures."""
    keys = ensure_key_index()
    settle_tables(INTAKE_TABLES, analyze=True)
    return keys


def ensure_key_index() -> dict[str, int]:
    """Every stored lead filed in the fuzzy matcher's key index (``dedupe.services.build_key_index``, as the job
    that follows a bulk write does), so that intake's fuzzy match searches the stored leads. A database seeded
    before ``bench seed`` filed its leads had ~300 of its 1M leads in the index: intake then matched against an
    almost empty index and the benchmarks measured it cheaper than it is. Returns the index's size (estimated)
    and how many keys this call filed."""
    from django.db import connection

    from embudo.dedupe import services as dedupe_services

    built = dedupe_services.build_key_index()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'dedupe_leadkey'")
        row = cursor.fetchone()
    return {"dedupe_keys": int(row[0]) if row else 0, "dedupe_keys_filed_now": built.keys,
            "dedupe_keys_through_lead_id": built.last_lead_id}  # fmt: skip


def settle_tables(tables: tuple[str, ...], *, analyze: bool) -> None:
    """VACUUM ``tables`` (with ANALYZE when asked), then CHECKPOINT. Not inside a transaction (a test's), where
    VACUUM cannot run."""
    from django.db import connection

    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{table}")
        cursor.execute("CHECKPOINT")


def count_leads() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'leads_lead'")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def run(
    *,
    seconds: float,
    clients: int,
    workers: int,
    threads: int,
    port: int,
    stdout: Any,
    use_wrk: bool | None = None,
    do_cleanup: bool = True,
    floor_seconds: float = 10.0,
) -> Outcome:
    from embudo.bench import routing

    routing.ensure_migrated()  # a bench database seeded by an earlier version lacks the newer tables
    leftover_rule_sets = routing.remove_leftover_bench_rules()  # this benchmark stores leads, it does not route them
    token = bench_token()
    port = port or free_port()
    key_index = settle()
    leads_before = count_leads()
    log = Path(tempfile.gettempdir()) / f"embudo-bench-intake-api-{port}.log"
    server = Server(port=port, workers=workers, threads=threads, log=log)
    before = max_ids()
    use_wrk = bool(shutil.which("wrk")) if use_wrk is None else use_wrk
    run_tag = uuid.uuid4().hex[:10]
    try:
        server.wait_ready()
        warm_up(port, token, workers=workers, threads=threads, run_tag=f"{run_tag}w")
        client = "wrk" if use_wrk else "python client"
        stdout.write(f"server ready on 127.0.0.1:{port}; {client} for {seconds:.0f} s\n")
        # Where the load's connections landed, a few seconds in (see Server.connections_per_worker).
        sampler = ConnectionSampler(server, seconds)
        sampler.start()
        meter = CpuMeter(server)
        meter.start()
        if use_wrk:
            data = wrk_load(port, token, seconds, clients, run_tag)
            elapsed = data["duration_us"] / 1e6
            ok = data["requests"] - data["non2xx"] - data["errors"]
            p50, p99 = data["p50_us"] / 1000, data["p99_us"] / 1000
            failures = data["non2xx"] + data["errors"]
            statuses: dict[str, int] = {"2xx": ok, "other": failures}
        else:
            queue: Any = multiprocessing.get_context("spawn").Queue()
            process = multiprocessing.get_context("spawn").Process(
                target=python_load, args=(port, token, seconds, clients, run_tag, queue)
            )
            process.start()
            data = queue.get(timeout=seconds + 120)
            process.join(timeout=30)
            elapsed = data["elapsed"]
            created = [ms for status, ms in data["results"] if status == 201]
            ok = len(created)
            p50, p99 = percentile(created, 50), percentile(created, 99)
            statuses = {}
            for status, _ms in data["results"]:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            # 200 = merged into an existing lead (a random phone matched a stored one): not a failure.
            failures = sum(n for s, n in statuses.items() if not s.startswith("2"))
        meter.stop()
        sampler.join()
        floor = (
            measure_floor(server, token, seconds=floor_seconds, clients=clients, use_wrk=use_wrk)
            if floor_seconds
            else {}
        )
    finally:
        server.stop()
    if do_cleanup:
        cleanup(before)
    figures = {
        "leads_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "connections_per_worker": sampler.samples,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "requests_ok": ok,
        "failed": failures,
        "seconds": round(elapsed, 1),
        "goal_leads_per_s": GOAL_LEADS_PER_S,
        "goal_p99_ms": GOAL_P99_MS,
        "cpu_ms_per_lead": meter.per_item_ms(ok),
        "cpu_budget_ms_per_lead": cpu_budget_ms(GOAL_LEADS_PER_S),
        "machine_busy_pct": meter.machine_busy_pct,
        "floor": floor,
    }
    parameters = {
        "seconds": seconds,
        "clients": clients,
        "server_workers": workers,
        "server_threads": threads,
        "intake_group_commit": group_commit_setting(),
        "load_generator": "wrk" if use_wrk else "python threads (separate process)",
        "leads_stored": leads_before,
        "dedupe_key_index": key_index,
        "floor_seconds": floor_seconds,
        "leftover_bench_rule_sets_removed": leftover_rule_sets,
        "published_rule_sets": routing.published_rule_sets(),
    }
    return Outcome(parameters=parameters, figures=figures, extra={"statuses": statuses})
