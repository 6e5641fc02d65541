"""Manage the embedded PostgreSQL server (when DATABASE_URL is unset)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from embudo.core import embedded_pg


class Command(BaseCommand):
    help = "Embedded PostgreSQL: `stop` it, show its `status`, or print a `url` for psql."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["stop", "status", "url"])

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        if db["ENGINE"] != "embudo.core.db.pgembedded":
            raise CommandError(
                "DATABASE_URL is set: Embudo is using an external PostgreSQL, nothing embedded to manage."
            )
        pgdata = Path(db["EMBEDDED_PGDATA"])
        action = options["action"]
        if action == "stop":
            if embedded_pg.stop_server(pgdata):
                self.stdout.write(f"Stopped the embedded PostgreSQL in {pgdata}.")
            else:
                self.stdout.write(f"The embedded PostgreSQL in {pgdata} was not running.")
        elif action == "status":
            running = embedded_pg.is_running(pgdata)
            self.stdout.write(f"{pgdata}: {'running' if running else 'stopped'}")
        else:
            address = embedded_pg.ensure_server(pgdata, db["NAME"])
            self.stdout.write(f"postgresql://postgres@/{db['NAME']}?host={address.host}&port={address.port}")
            self.stdout.write(
                "(The server stops when the last Embudo process using it exits; keep `embudo demo` running for psql.)"
            )
