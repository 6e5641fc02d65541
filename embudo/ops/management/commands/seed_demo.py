"""``manage.py seed_demo``: load the deterministic demo data and print the login credentials."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from embudo.demo import seed


class Command(BaseCommand):
    help = "Load the demo personas, companies and leads (idempotent) and print the credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default=None, help=f"Personas' password (default: ${seed.PASSWORD_ENV}, else generated)."
        )
        parser.add_argument("--leads", type=int, default=2000, help="How many demo leads (default 2000).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed.load_demo_data(password=options["password"], leads=options["leads"], stdout=self.stdout)
        self.stdout.write(seed.credentials_table(result))
