"""Tiny runs of the intake benchmarks (import, intake-api, no-loss): they work and write their JSON."""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from embudo.bench import import_csv, intake_api
from embudo.capture.models import Submission
from embudo.core import clock
from embudo.dedupe.models import LeadKey
from embudo.leads.models import CompanyStatsPending, Lead
from embudo.routing.models import Assignment, RuleSet, RuleSetStatus


def _figures(path: Path, name: str) -> dict[str, Any]:
    document = json.loads((path / f"{name}.json").read_text())
    assert document["name"] == name
    assert {"date", "machine", "versions", "parameters", "figures"} <= set(document)
    return dict(document["figures"])


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """Let subprocesses (server, worker) reach the test database."""
    connection.ensure_connection()
    params = connection.get_connection_params()
    host = quote(str(params.get("host") or "localhost"), safe="")
    port = params.get("port") or 5432
    url = f"postgres://{params.get('user') or 'postgres'}@{host}:{port}/{params['dbname']}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.mark.django_db
def test_bench_import_small(tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path / "data"
    call_command("bench", "import", "--rows", "200", "--output-dir", str(tmp_path), stdout=StringIO())
    figures = _figures(tmp_path, "import")
    assert figures["rows"] == 200 and figures["seconds"] > 0
    assert figures["created"] + figures["merged"] + figures["rejected"] == 200
    assert figures["rejected"] > 0 and "insert_leads" in figures["phases_s"]
    assert Lead.objects.count() == 0 and Submission.objects.count() == 0  # cleaned up
    assert not CompanyStatsPending.objects.exists()  # and the companies it touched recounted


def _index_pages(tables: tuple[str, ...]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) / 8192 FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[])",
            [list(tables)],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_bench_import_leaves_the_indexes_it_grew_rebuilt(tmp_path: Path, settings: Any) -> None:
    """Outside a transaction the cleanup vacuums and rebuilds what the run grew: the indexes are the size a
    REINDEX makes them, not the size the run's rows left (the trigram index kept every page of its merges)."""
    settings.DATA_DIR = tmp_path / "data"
    call_command("bench", "import", "--rows", "300", "--output-dir", str(tmp_path), stdout=StringIO())
    after_run = _index_pages(import_csv.REBUILT_AFTER_A_RUN)
    with connection.cursor() as cursor:
        for table in import_csv.REBUILT_AFTER_A_RUN:
            cursor.execute(f"REINDEX TABLE {table}")
    assert "lead_search_trgm" in after_run
    assert after_run == _index_pages(import_csv.REBUILT_AFTER_A_RUN)
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_intake_benchmarks_file_the_leads_missing_from_the_key_index() -> None:
    # Leads written in bulk (as `bench seed` did before it filed them) are not in the fuzzy matcher's key index.
    now = clock.now()
    Lead.objects.bulk_create(
        [Lead(first_name=f"Ana{i}", last_name="Bulk", email=f"ana{i}@bulk.example", created_at=now, updated_at=now)
         for i in range(3)]
    )  # fmt: skip
    assert not LeadKey.objects.exists()

    filed = intake_api.ensure_key_index()

    ids = set(Lead.objects.values_list("id", flat=True))
    assert set(LeadKey.objects.values_list("lead_id", flat=True)) == ids
    assert filed["dedupe_keys_filed_now"] == LeadKey.objects.count() > 0
    assert filed["dedupe_keys_through_lead_id"] == max(ids)
    assert intake_api.ensure_key_index()["dedupe_keys_filed_now"] == 0  # nothing new to file


@pytest.mark.django_db(transaction=True)
def test_bench_intake_api_small(tmp_path: Path, database_url: str) -> None:
    call_command("bench", "intake-api", "--seconds", "2", "--clients", "2", "--floor-seconds", "1",
                 "--output-dir", str(tmp_path), stdout=StringIO())  # fmt: skip
    figures = _figures(tmp_path, "intake-api")
    assert figures["leads_per_s"] > 0 and figures["failed"] == 0
    parameters = json.loads((tmp_path / "intake-api.json").read_text())["parameters"]
    assert {"dedupe_keys", "dedupe_keys_filed_now", "dedupe_keys_through_lead_id"} <= set(
        parameters["dedupe_key_index"]
    )
    assert parameters["published_rule_sets"] == [] and parameters["leftover_bench_rule_sets_removed"] == 0
    # The clients' keep-alive connections, seen on the server's two worker processes, three times. A sample may
    # catch one of them reconnecting (closed after its quota of requests, or not yet accepted): at most 2 then.
    samples = figures["connections_per_worker"]
    assert len(samples) == 3 and all(len(split) == 2 and sum(split) <= 2 for split in samples)
    assert any(sum(split) == 2 for split in samples)
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    # The CPU a lead cost, the server's and the database's, next to what the goal leaves per lead.
    cpu = figures["cpu_ms_per_lead"]
    assert cpu["web"] > 0 and cpu["database"] > 0
    assert cpu["total"] == pytest.approx(cpu["web"] + cpu["database"], abs=0.011)  # each is rounded on its own
    assert figures["cpu_budget_ms_per_lead"] == pytest.approx((os.cpu_count() or 1) * 1000 / 300, abs=0.01)
    assert 0 < figures["machine_busy_pct"] <= 100
    # The floor: the lightest real endpoint on the same server, cheaper than a lead.
    floor = figures["floor"]
    assert floor["path"] == "/api/v1/me" and floor["requests_per_s"] > figures["leads_per_s"]
    assert 0 < floor["cpu_ms_per_request_total"] < cpu["total"]
    assert Lead.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("routed", [False, True])
def test_bench_intake_batch_small(tmp_path: Path, database_url: str, routed: bool) -> None:
    call_command("bench", "intake-batch", "--seconds", "2", "--clients", "2", "--batch", "20",
                 *(["--routed"] if routed else []), "--output-dir", str(tmp_path), stdout=StringIO())  # fmt: skip
    figures = _figures(tmp_path, "intake-batch")
    assert figures["requests_ok"] > 0 and figures["failed_requests"] == 0 and figures["failed_items"] == 0
    assert figures["leads"] == 20 * figures["requests_ok"] and figures["leads_per_s"] > 0
    assert 0 < figures["request_p50_ms"] <= figures["request_p99_ms"]
    assert figures["cpu_ms_per_lead"]["web"] > 0 and figures["cpu_ms_per_lead"]["database"] > 0
    assert Lead.objects.count() == 0 and Submission.objects.count() == 0  # cleaned up
    # A routed run assigned its leads (the warm-up's too), then took its rule set back and left no assignment.
    assert (figures["assigned_leads"] >= figures["leads"]) if routed else figures["assigned_leads"] == 0
    assert not Assignment.objects.exists()
    assert not RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).exists()


@pytest.mark.django_db(transaction=True)
def test_bench_no_loss_small(tmp_path: Path, database_url: str) -> None:
    call_command(
        "bench", "no-loss", "--submissions", "100", "--kill-every", "1.5", "--drops", "1",
        "--recovery-timeout", "150", "--output-dir", str(tmp_path), stdout=StringIO(),
    )  # fmt: skip
    figures = _figures(tmp_path, "no-loss")
    assert figures["acknowledged"] > 0
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["worker_kills"] >= 1 and figures["connection_drops"] == 1


def _queue_jobs(count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
            "SELECT 'default', 'bench.leftover', '{}'::jsonb FROM generate_series(1, %s)",
            [count],
        )


def _queued() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'bench.leftover'")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_cleanup_removes_the_jobs_the_run_queued_and_only_those() -> None:
    _queue_jobs(2)  # queued before the run: not the benchmark's to delete
    before = intake_api.max_ids()
    _queue_jobs(3)
    intake_api.cleanup(before)
    assert _queued() == 2


@pytest.mark.django_db
def test_no_loss_refuses_to_run_behind_a_backlog(tmp_path: Path) -> None:
    _queue_jobs(101)
    with pytest.raises(CommandError, match="101 jobs are already queued"):
        call_command("bench", "no-loss", "--submissions", "10", "--output-dir", str(tmp_path), stdout=StringIO())
    assert not (tmp_path / "no-loss.json").exists()


@pytest.mark.django_db(transaction=True)
def test_floor_with_the_python_client(tmp_path: Path, database_url: str) -> None:
    """The floor without wrk (a machine that lacks it): the same figures from the Python load process."""
    token = intake_api.bench_token()
    server = intake_api.Server(port=intake_api.free_port(), workers=1, threads=2, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        floor = intake_api.measure_floor(server, token, seconds=1, clients=2, use_wrk=False)
    finally:
        server.stop()
    assert floor["requests_per_s"] > 0 and 0 < floor["p50_ms"] <= floor["p99_ms"]
    assert floor["cpu_ms_per_request_web"] > 0 and floor["cpu_ms_per_request_database"] > 0


@pytest.mark.django_db(transaction=True)
def test_warm_up_reaches_every_thread_of_every_worker(tmp_path: Path, database_url: str) -> None:
    """Each server thread opens its own database connection on its first request: after the warm-up, one per
    thread of each worker, so no thread meets its first request (a cold backend) in the measured window."""
    token = intake_api.bench_token()
    before = intake_api.max_ids()
    server = intake_api.Server(port=intake_api.free_port(), workers=2, threads=2, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        intake_api.warm_up(server.port, token, workers=2, threads=2, run_tag="warm")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            server_connections = cursor.fetchone()[0]
    finally:
        server.stop()
        intake_api.cleanup(before)
    assert server_connections == 2 * 2


@pytest.mark.django_db(transaction=True)
def test_bench_import_floor_measures_and_leaves_nothing(tmp_path: Path) -> None:
    call_command("bench", "import-floor", "--rows", "2000", "--output-dir", str(tmp_path), stdout=StringIO())
    figures = _figures(tmp_path, "import-floor")
    assert set(figures["cpu_s"]) == {"normalize", "insert_leads", "merge_search_index", "insert_submissions"}
    assert figures["cpu_s"]["normalize"] > 0
    assert figures["floor_cpu_s"] == pytest.approx(sum(figures["cpu_s"].values()), abs=0.2)
    assert Lead.objects.count() == 0
    from embudo.capture.models import Submission

    assert not Submission.objects.exists()
