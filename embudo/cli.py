"""The ``embudo`` command: a thin front over Django management commands.

``embudo demo`` runs everything; ``embudo serve`` / ``embudo worker`` run one process kind;
anything not listed below is passed to Django's management (``embudo showmigrations``…).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ALIASES: dict[str, list[str]] = {
    # Django's deploy checklist (HSTS, secure cookies, DEBUG…) plus our own checks.
    "check": ["check", "--deploy"],
    "worker": ["procrastinate", "worker"],
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        print(
            "Commands: demo, serve, worker, migrate, createuser, token, check, db, bench, intake, import, "
            "or any Django management command."
        )
        return
    command, rest = args[0], args[1:]
    if command == "bench":
        # Benchmarks fill millions of rows: keep them out of the demo database unless told otherwise.
        os.environ.setdefault("EMBUDO_DATA_DIR", str(Path(__file__).resolve().parent.parent / "var" / "bench"))
    from django.core.management import execute_from_command_line

    if command == "worker" and "--help" not in rest:
        rest = _worker_defaults(rest)
        import django

        from embudo.core.runtime import freeze_startup_objects

        django.setup()  # loads the apps and their tasks; the management command's own setup is then a no-op
        freeze_startup_objects()

    execute_from_command_line(["embudo", *ALIASES.get(command, [command]), *rest])


def _worker_defaults(rest: list[str]) -> list[str]:
    if not any(arg.startswith("--concurrency") for arg in rest):
        rest = ["--concurrency", os.environ.get("EMBUDO_WORKER_CONCURRENCY", "4"), *rest]
    if not any(arg.startswith("--delete-jobs") for arg in rest):
        # Finished jobs would otherwise pile up forever; the DomainEvent rows keep the history.
        rest = ["--delete-jobs", "successful", *rest]
    return rest


if __name__ == "__main__":
    main()
