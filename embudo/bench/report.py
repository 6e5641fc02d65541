"""Shared benchmark plumbing: machine and version facts, result JSON files, plain-text tables."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connection

DEFAULT_OUTPUT_DIR = Path(settings.BASE_DIR) / "benchmarks" / "results"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    memory = _memory_bytes()
    return {
        "cpus": os.cpu_count(),
        "memory": f"{memory / 2**30:.1f} GiB" if memory else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, Any]:
    try:
        embudo_version = metadata.version("embudo")
    except metadata.PackageNotFoundError:
        embudo_version = "unknown"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return {"embudo": embudo_version, "django": django.get_version(), "postgresql": row[0] if row else None}


def write_result(
    name: str,
    *,
    parameters: Mapping[str, Any],
    figures: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    output_dir: Path | None = None,
) -> Path:
    """Write ``<output_dir>/<name>.json`` in the common shape and return its path."""
    directory = output_dir or DEFAULT_OUTPUT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "name": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "parameters": dict(parameters),
        "figures": dict(figures),
    }
    document.update(extra or {})
    path = directory / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left/right aligned plain-text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) if rows else False for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def print_header(stdout: Any, name: str) -> None:
    m = machine()
    stdout.write(f"bench {name} · {m['cpus']} CPUs · {m['memory']} · Python {m['python']} · {sys.platform}\n")
