"""Run the web server: gunicorn (WSGI, gthread workers) with whitenoise for static files."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int, timeout: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        # gthread, with a busy worker leaving new connections to an idle one (see the module).
        "--worker-class",
        "embudo.ops.gunicorn_worker.BalancedThreadWorker",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"{host}:{port}",
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "10",
        # Server hooks: keep-alive connections are closed after a number of requests (see the module).
        "--config",
        "python:embudo.ops.gunicorn_hooks",
        # Our RequestLogMiddleware writes one JSON line per request; gunicorn's own access log would double it.
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]


class Command(BaseCommand):
    help = "Serve Embudo over HTTP with gunicorn (gthread). Workers and threads come from flags or environment."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("EMBUDO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("EMBUDO_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("EMBUDO_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("EMBUDO_WEB_THREADS", "8")))
        parser.add_argument("--timeout", type=int, default=int(os.environ.get("EMBUDO_WEB_TIMEOUT", "30")))
        parser.add_argument("--no-collectstatic", action="store_true", help="Skip collecting static files.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = gunicorn_argv(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            threads=options["threads"],
            timeout=options["timeout"],
        )
        sys.stdout.flush()
        # Replace this process so signals (Ctrl-C, SIGTERM) reach gunicorn's master directly.
        os.execv(sys.executable, argv)
