"""``manage.py bench <name>`` (``embudo bench <name>``): run a benchmark, print a table, write its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.bench import report


class Command(BaseCommand):
    help = "Run a benchmark (seed, pages); results go to benchmarks/results/<name>.json."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True)
        seed = sub.add_parser("seed", help="Bulk-generate leads, companies and events with COPY.")
        seed.add_argument("--leads", type=int, default=1_000_000)
        seed.add_argument("--events-per-lead", type=int, default=10)
        seed.add_argument("--companies", type=int, default=None, help="Default: a tenth of --leads.")
        seed.add_argument("--reset", action="store_true", help="Truncate leads, companies and events first.")
        seed.add_argument("--output-dir", type=Path, default=None)
        pages = sub.add_parser("pages", help="Server time of the lead list, search and lead page.")
        pages.add_argument("--requests", type=int, default=200, help="Measured requests per scenario.")
        pages.add_argument("--warmup", type=int, default=20, help="Unmeasured requests per scenario first.")
        pages.add_argument("--min-leads", type=int, default=1_000_000, help="Refuse to run below this many leads.")
        pages.add_argument("--output-dir", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["benchmark"]
        report.print_header(self.stdout, name)
        if name == "seed":
            self._seed(options)
        elif name == "pages":
            self._pages(options)
        else:  # pragma: no cover - argparse rejects it
            raise CommandError(f"Unknown benchmark {name!r}.")

    def _seed(self, options: dict[str, Any]) -> None:
        from embudo.bench import seed

        parameters = {
            "leads": options["leads"],
            "events_per_lead": options["events_per_lead"],
            "companies": options["companies"] if options["companies"] is not None else max(10, options["leads"] // 10),
            "reset": options["reset"],
        }
        result = seed.seed(
            leads=options["leads"],
            events_per_lead=options["events_per_lead"],
            companies=options["companies"],
            reset=options["reset"],
            stdout=self.stdout,
        )
        figures = seed.summary(result)
        rows = [(k, v) for k, v in figures.items() if k != "phases_s"]
        rows += [(f"phase {k} (s)", v) for k, v in figures["phases_s"].items()]
        self.stdout.write(report.table(["figure", "value"], rows))
        path = report.write_result("seed", parameters=parameters, figures=figures, output_dir=options["output_dir"])
        self.stdout.write(f"\nWrote {path}")

    def _pages(self, options: dict[str, Any]) -> None:
        from embudo.bench import pages

        try:
            outcome = pages.run(
                requests=options["requests"],
                warmup=options["warmup"],
                min_leads=options["min_leads"],
                stdout=self.stdout,
            )
        except pages.NotSeeded as exc:
            raise CommandError(str(exc)) from exc
        path = report.write_result(
            "pages",
            parameters=outcome.parameters,
            figures=outcome.figures,
            extra={"scenarios": outcome.scenarios, "explain": outcome.explain},
            output_dir=options["output_dir"],
        )
        self.stdout.write(f"\nWrote {path}")
