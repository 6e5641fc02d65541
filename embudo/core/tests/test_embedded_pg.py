"""The embedded PostgreSQL wrapper: PID bookkeeping, private runtime dir, start and stop."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from embudo.core import embedded_pg


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_prune_dead_pids_removes_dead_and_keeps_live(tmp_path: Path) -> None:
    dead = dead_pid()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([os.getpid(), dead]))

    removed = embedded_pg.prune_dead_pids(tmp_path)

    assert removed == [dead]
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [os.getpid()]


def test_prune_dead_pids_leaves_a_clean_file_alone(tmp_path: Path) -> None:
    path = tmp_path / ".handle_pids.json"
    path.write_text(json.dumps([os.getpid()]))
    mtime = path.stat().st_mtime_ns

    assert embedded_pg.prune_dead_pids(tmp_path) == []
    assert path.stat().st_mtime_ns == mtime


def test_prune_dead_pids_without_a_file_or_with_garbage(tmp_path: Path) -> None:
    assert embedded_pg.prune_dead_pids(tmp_path) == []
    (tmp_path / ".handle_pids.json").write_text("{not json")
    assert embedded_pg.prune_dead_pids(tmp_path) == []
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == []


def test_private_runtime_dir_is_created_0700_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)

    embedded_pg.ensure_private_runtime_dir()

    path = Path(os.environ["XDG_RUNTIME_DIR"])
    assert path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert path.stat().st_uid == os.getuid()


def test_shared_runtime_dir_is_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))

    embedded_pg.ensure_private_runtime_dir()

    assert os.environ["XDG_RUNTIME_DIR"] != str(shared)
    assert stat.S_IMODE(Path(os.environ["XDG_RUNTIME_DIR"]).stat().st_mode) == 0o700


def test_private_runtime_dir_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(private))

    embedded_pg.ensure_private_runtime_dir()

    assert os.environ["XDG_RUNTIME_DIR"] == str(private)


def test_stop_server_on_a_data_dir_without_a_server(tmp_path: Path) -> None:
    assert embedded_pg.stop_server(tmp_path / "nothing") is False


def test_second_embedded_server_starts_serves_and_stops() -> None:
    from conftest import embedded_pg_parent_dir

    pgdata = embedded_pg_parent_dir() / "pgdata"

    address = embedded_pg.ensure_server(pgdata, "probe", cleanup_mode="delete")
    try:
        assert embedded_pg.ensure_server(pgdata, "probe", cleanup_mode="delete") == address  # joins, idempotent
        with psycopg.connect(host=address.host, port=address.port, user="postgres", dbname="probe") as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("probe",)
    finally:
        stopped = embedded_pg.stop_server(pgdata)

    assert stopped is True
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=address.host, port=address.port, user="postgres", dbname="probe", connect_timeout=2)
    assert embedded_pg.stop_server(pgdata) is False
