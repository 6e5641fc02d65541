"""The real process kinds: `embudo serve` (gunicorn) and `embudo worker` (procrastinate) as subprocesses
against the test database. /healthz turns healthy once the worker heartbeats, an API write's job runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.accounts import services as accounts_services
from embudo.leads.models import Company, Lead
from embudo.leads.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    params = connection.get_connection_params()
    host = quote(str(params.get("host") or "localhost"), safe="")
    port = params.get("port") or 5432
    user = params.get("user") or "postgres"
    password = params.get("password") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{params['dbname']}"


def _request(
    url: str, *, method: str = "GET", body: dict[str, object] | None = None, token: str | None = None
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def running_processes(empty_job_queue: None) -> Iterator[str]:
    connection.ensure_connection()
    env = {**os.environ, "DATABASE_URL": _database_url(), "EMBUDO_LOG_LEVEL": "WARNING",
           "EMBUDO_WEB_REQUESTS_PER_CONNECTION": "3"}  # fmt: skip
    port = _free_port()
    cli = [sys.executable, "-m", "embudo.cli"]
    processes = [
        subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--workers", "1", "--threads", "2", "--no-collectstatic"], env=env
        ),
        subprocess.Popen([*cli, "worker", "--concurrency", "1"], env=env),
    ]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.25)
    raise AssertionError("condition not met in time")


def test_serve_and_worker_process_an_api_lead_end_to_end(running_processes: str) -> None:
    base = running_processes
    user = accounts_services.create_user(email="ops@example.com", role="admin", password="correct horse battery")
    _row, token = accounts_services.create_api_token(user_email=user.email, name="test")
    company = CompanyFactory(name="Acme", domain="acme.example")

    _wait_for(lambda: _request(f"{base}/healthz")[0] == 200)
    status, health = _request(f"{base}/healthz")
    assert health["status"] == "ok"
    assert health["worker"]["status"] == "ok"  # type: ignore[index]

    status, body = _request(
        f"{base}/api/v1/leads", method="POST", token=token, body={"first_name": "Ana", "email": "ana@acme.example"}
    )
    assert status == 201, body
    lead_id = int(str(body["id"]))
    assert Lead.objects.get(pk=lead_id).company_id == company.pk  # filed under it by the email's domain
    # A second write publishes LeadUpdated, whose job (routing's first-touch check) the worker runs.
    status, body = _request(f"{base}/api/v1/leads/{lead_id}", method="PATCH", token=token, body={"status": "working"})
    assert status == 200, body
    # The worker's periodic drain (every 5 s) recounts the company: no job per captured lead.
    _wait_for(lambda: Company.objects.get(pk=company.pk).lead_count == 1)
    # The worker deletes the jobs that succeed (embudo worker's --delete-jobs successful): the routing job,
    # deferred with the PATCH, goes away, and nothing failed.
    _wait_for(lambda: not ProcrastinateJob.objects.filter(task_name="routing.on_lead_updated").exists())
    assert not ProcrastinateJob.objects.filter(status="failed").exists()


def test_serve_closes_a_keep_alive_connection_after_its_quota_of_requests(running_processes: str) -> None:
    """So that a client's long-lived connections spread over the workers again (embudo.ops.gunicorn_hooks)."""
    import http.client

    base = running_processes
    _wait_for(lambda: _request(f"{base}/healthz")[0] in (200, 503))
    conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=10)
    answers = []
    client_port = None
    for _ in range(4):
        conn.request("GET", "/healthz")
        client_port = client_port or (conn.sock.getsockname()[1] if conn.sock else None)
        response = conn.getresponse()
        response.read()
        answers.append((response.status in (200, 503), (response.getheader("Connection") or "").lower()))
        if answers[-1][1] == "close":
            break
    conn.close()
    # 3 per connection, plus 0 or 1 by the client's port (gunicorn_hooks.quota_of).
    assert client_port is not None
    quota = 3 + client_port % 2
    assert answers == [(True, "keep-alive")] * (quota - 1) + [(True, "close")]
