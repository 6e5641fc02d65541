"""`embudo demo`: everything a first-time user needs, in one process tree.

Migrates, loads the deterministic demo data, prints the logins, then runs the web server and
a job worker until Ctrl-C, and stops everything (the embedded PostgreSQL included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from embudo.core import embedded_pg


class Command(BaseCommand):
    help = "Run Embudo with demo data: web server at http://127.0.0.1:PORT and a job worker, until Ctrl-C."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("EMBUDO_PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("EMBUDO_HOST", "127.0.0.1"))
        parser.add_argument("--reset", action="store_true", help="Erase all data and load the demo data again.")
        parser.add_argument("--leads", type=int, default=2000, help="How many demo leads (first load only).")
        parser.add_argument("--no-serve", action="store_true", help="Prepare data and print logins, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = settings.DATABASES["default"]["ENGINE"] == "embudo.core.db.pgembedded"
        if embedded:
            pgdata = settings.DATABASES["default"]["EMBEDDED_PGDATA"]
            self.stdout.write(f"Starting the embedded PostgreSQL in {pgdata} …")
        # Holding a connection keeps the embedded server up for the children we start below.
        connection.ensure_connection()
        self.stdout.write("Applying migrations …")
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            self.stdout.write("Erasing all data (--reset) …")
            call_command("flush", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Loading demo data …")
        from embudo.demo import seed

        started = time.monotonic()
        result = seed.load_demo_data(leads=options["leads"])
        self.stdout.write(f"Demo data ready in {time.monotonic() - started:.1f} s.")
        url = f"http://{options['host']}:{options['port']}"
        self._print_logins(result, url)
        if options["no_serve"]:
            return
        connection.close()
        self._run_children(options)
        if embedded:
            embedded_pg.stop_server(Path(settings.DATABASES["default"]["EMBEDDED_PGDATA"]))
            self.stdout.write("Embedded PostgreSQL stopped. Bye.")

    def _print_logins(self, result: Any, url: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Embudo is starting at {url}"))
        self.stdout.write("Log in with any of these (same password for all):")
        for persona in result.personas:
            self.stdout.write(f"  {persona.email:<26} {persona.role:<10} {persona.full_name}")
        self.stdout.write(self.style.SUCCESS(f"  password: {result.password}"))
        self.stdout.write("Press Ctrl-C to stop.\n")

    def _run_children(self, options: dict[str, Any]) -> None:
        base = [sys.executable, "-m", "embudo.cli"]
        children = [
            subprocess.Popen(
                [*base, "serve", "--host", options["host"], "--port", str(options["port"]), "--no-collectstatic"]
            ),
            subprocess.Popen([*base, "worker"]),
        ]
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            self.stdout.write("\nStopping the web server and the worker …")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
