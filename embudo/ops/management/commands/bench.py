"""``manage.py bench <name>`` (``embudo bench <name>``): run a benchmark, print a table, write its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.bench import report

# The floor: the lightest real endpoint on the same server, what a request costs before the intake's work.
FLOOR_HELP = "Seconds of the floor: GET /api/v1/me on the same server (0: skip)."


class Command(BaseCommand):
    help = (
        "Run a benchmark (seed, pages, import, intake-api, intake-batch, no-loss, dedupe, dedupe-leads, …); "
        "results go to benchmarks/results/<name>.json."
    )

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
        self._add_intake_arguments(sub)
        lookup = sub.add_parser("dedupe-lookup", help="Fuzzy candidate lookup for one incoming lead (1M leads).")
        lookup.add_argument("--samples", type=int, default=1000)
        lookup.add_argument("--warmup", type=int, default=100)
        lookup.add_argument("--seed", type=int, default=42)
        lookup.add_argument("--min-leads", type=int, default=1_000_000, help="Refuse to run below this many leads.")
        lookup.add_argument("--output-dir", type=Path, default=None)
        di = sub.add_parser("dedupe-intake", help="find_fuzzy_match end to end for one incoming lead (1M leads).")
        di.add_argument("--samples", type=int, default=1000)
        di.add_argument("--warmup", type=int, default=100)
        di.add_argument("--seed", type=int, default=42)
        di.add_argument("--min-leads", type=int, default=1_000_000, help="Refuse to run below this many leads.")
        di.add_argument("--candidates", type=int, default=None, help="Candidates fetched (default: intake's).")
        di.add_argument("--output-dir", type=Path, default=None)
        ds = sub.add_parser("dedupe-scan", help="Blocking-key index build and the background scan over all leads.")
        ds.add_argument("--rebuild-keys", action="store_true", help="Rebuild the key index first (timed).")
        ds.add_argument("--limit", type=int, default=None, help="Scan only this many leads.")
        ds.add_argument("--min-leads", type=int, default=1_000_000, help="Refuse to run below this many leads.")
        ds.add_argument("--output-dir", type=Path, default=None)
        self._add_dedupe_arguments(sub)
        sc = sub.add_parser(
            "scoring", help="Rescore 1M leads after publishing, backtest, event ingestion with scoring."
        )
        sc.add_argument("--min-leads", type=int, default=1_000_000)
        sc.add_argument("--no-events", action="store_true", help="Skip the event ingestion figure.")
        sc.add_argument("--output-dir", type=Path, default=None)
        self._add_routing_arguments(sub)
        pr = sub.add_parser("predictive", help="Conversion model vs naive-Bayes baseline on UCI Bank Marketing.")
        pr.add_argument("--seed", type=int, default=42)
        pr.add_argument("--output-dir", type=Path, default=None)

    def _add_routing_arguments(self, sub: Any) -> None:
        stl = sub.add_parser("speed-to-lead", help="POST /api/v1/leads at a sustained rate: received → assigned.")
        stl.add_argument("--seconds", type=float, default=60.0)
        stl.add_argument("--rate", type=float, default=100.0, help="Leads per second (open loop).")
        stl.add_argument("--clients", type=int, default=16)
        stl.add_argument("--workers", type=int, default=2)
        stl.add_argument("--threads", type=int, default=8)
        stl.add_argument("--port", type=int, default=0)
        stl.add_argument("--floor-seconds", type=float, default=10.0, help=FLOOR_HELP)
        stl.add_argument("--output-dir", type=Path, default=None)
        rf = sub.add_parser("routing-fairness", help="100,000 picks through the real pick (row locks), weighted pool.")
        rf.add_argument("--assignments", type=int, default=100_000)
        rf.add_argument("--threads", type=int, default=4)
        rf.add_argument("--output-dir", type=Path, default=None)

    def _add_dedupe_arguments(self, sub: Any) -> None:
        dd = sub.add_parser("dedupe", help="Embudo's matcher and splink on FEBRL (needs `uv sync --group bench`).")
        dd.add_argument("--dataset", choices=("febrl1", "febrl2"), default="febrl1")
        dd.add_argument("--output-dir", type=Path, default=None)
        dl = sub.add_parser("dedupe-leads", help="Embudo's matcher on seeded lead-shaped data with corruptions.")
        dl.add_argument("--seed", type=int, default=42)
        dl.add_argument("--people", type=int, default=3000, help="Distinct people before duplicates.")
        dl.add_argument("--output-dir", type=Path, default=None)

    def _add_intake_arguments(self, sub: Any) -> None:
        imp = sub.add_parser("import", help="A seeded CSV (1M rows) through the bulk import path.")
        imp.add_argument("--rows", type=int, default=1_000_000)
        imp.add_argument("--seed", type=int, default=42)
        imp.add_argument("--workers", type=int, default=None, help="Normalizer processes (default: up to 2).")
        imp.add_argument("--keep", action="store_true", help="Keep what the import added (default: delete it).")
        imp.add_argument("--output-dir", type=Path, default=None)
        fl = sub.add_parser("import-floor", help="Least CPU an import of 1M rows needs here.")
        fl.add_argument("--rows", type=int, default=1_000_000)
        fl.add_argument("--seed", type=int, default=42)
        fl.add_argument("--output-dir", type=Path, default=None)
        api = sub.add_parser("intake-api", help="POST /api/v1/leads through gunicorn (2 workers) under load.")
        api.add_argument("--seconds", type=float, default=20.0)
        api.add_argument("--clients", type=int, default=16, help="Concurrent client connections.")
        api.add_argument("--workers", type=int, default=2, help="Server worker processes.")
        api.add_argument("--threads", type=int, default=8, help="Threads per server worker.")
        api.add_argument("--port", type=int, default=0, help="Loopback port (default: a free one).")
        api.add_argument("--floor-seconds", type=float, default=10.0, help=FLOOR_HELP)
        api.add_argument("--output-dir", type=Path, default=None)
        bat = sub.add_parser("intake-batch", help="POST /api/v1/leads/batch through gunicorn (2 workers) under load.")
        bat.add_argument("--seconds", type=float, default=20.0)
        bat.add_argument("--clients", type=int, default=4, help="Concurrent client connections.")
        bat.add_argument("--batch", type=int, default=100, help="Leads per request (at most 1,000).")
        bat.add_argument("--workers", type=int, default=2, help="Server worker processes.")
        bat.add_argument("--threads", type=int, default=8, help="Threads per server worker.")
        bat.add_argument("--port", type=int, default=0, help="Loopback port (default: a free one).")
        bat.add_argument("--routed", action="store_true", help="Publish speed-to-lead's rule set: every lead routed.")
        bat.add_argument("--output-dir", type=Path, default=None)
        nl = sub.add_parser("no-loss", help="Submissions while the worker is killed and connections dropped.")
        nl.add_argument("--submissions", type=int, default=10_000)
        nl.add_argument("--kill-every", type=float, default=2.0, help="Seconds between worker SIGKILLs.")
        nl.add_argument("--drops", type=int, default=2, help="Times all other DB connections are terminated.")
        nl.add_argument("--deferred-share", type=float, default=0.5,
                        help="Share of submissions whose processing is deferred to the worker.")  # fmt: skip
        nl.add_argument("--recovery-timeout", type=float, default=300.0)
        nl.add_argument("--port", type=int, default=0)
        nl.add_argument("--output-dir", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["benchmark"]
        report.print_header(self.stdout, name)
        if name == "seed":
            self._seed(options)
        elif name == "pages":
            self._pages(options)
        elif name in ("import", "import-floor", "intake-api", "intake-batch", "no-loss"):
            self._intake(name, options)
        elif name in ("dedupe", "dedupe-leads"):
            self._dedupe(name, options)
        elif name in ("dedupe-lookup", "dedupe-scan", "dedupe-intake"):
            self._dedupe_lookup(options)
        elif name == "predictive":
            self._predictive(options)
        elif name == "scoring":
            self._scoring(options)
        elif name in ("speed-to-lead", "routing-fairness"):
            self._routing(name, options)
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

    def _intake(self, name: str, options: dict[str, Any]) -> None:
        from embudo.bench import import_csv, import_floor, intake_api, intake_batch, no_loss

        if name == "import-floor":
            outcome = import_floor.run(rows=options["rows"], seed=options["seed"], stdout=self.stdout)
        elif name == "import":
            outcome = import_csv.run(
                rows=options["rows"], seed=options["seed"], workers=options["workers"], keep=options["keep"],
                stdout=self.stdout,
            )  # fmt: skip
        elif name == "intake-api":
            outcome = intake_api.run(
                seconds=options["seconds"], clients=options["clients"], workers=options["workers"],
                threads=options["threads"], port=options["port"], floor_seconds=options["floor_seconds"],
                stdout=self.stdout,
            )  # fmt: skip
        elif name == "intake-batch":
            outcome = intake_batch.run(
                seconds=options["seconds"], clients=options["clients"], batch=options["batch"],
                workers=options["workers"], threads=options["threads"], port=options["port"], stdout=self.stdout,
                routed=options["routed"],
            )  # fmt: skip
        else:
            try:
                outcome = no_loss.run(
                    submissions=options["submissions"], kill_every=options["kill_every"], drops=options["drops"],
                    deferred_share=options["deferred_share"], recovery_timeout=options["recovery_timeout"],
                    port=options["port"], stdout=self.stdout,
                )  # fmt: skip
            except no_loss.QueueNotEmpty as exc:
                raise CommandError(str(exc)) from exc
        rows = [(k, v) for k, v in outcome.figures.items() if not isinstance(v, dict)]
        for k, v in outcome.figures.items():
            if isinstance(v, dict):
                rows += [(f"{k} {sub}", value) for sub, value in v.items()]
        self.stdout.write(report.table(["figure", "value"], rows))
        path = report.write_result(
            name, parameters=outcome.parameters, figures=outcome.figures, extra=outcome.extra,
            output_dir=options["output_dir"],
        )  # fmt: skip
        self.stdout.write(f"\nWrote {path}")

    def _dedupe(self, name: str, options: dict[str, Any]) -> None:
        from embudo.bench import dedupe_febrl, dedupe_leads

        if name == "dedupe":
            try:
                outcome = dedupe_febrl.run(dataset=options["dataset"])
            except dedupe_febrl.MissingBenchDependencies as exc:
                raise CommandError(str(exc)) from exc
            result_name = f"dedupe-{options['dataset']}"
        else:
            outcome = dedupe_leads.run(seed=options["seed"], people=options["people"])
            result_name = "dedupe-leads"
        rows: list[tuple[str, Any]] = []
        for key, value in {**outcome.figures, **outcome.extra}.items():
            if isinstance(value, dict):
                rows += [(f"{key} {sub}", v) for sub, v in value.items()]
            else:
                rows.append((key, value))
        self.stdout.write(
            report.table(["figure", "value"], [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in rows])
        )
        path = report.write_result(
            result_name, parameters=outcome.parameters, figures=outcome.figures, extra=outcome.extra,
            output_dir=options["output_dir"],
        )  # fmt: skip
        self.stdout.write(f"\nWrote {path}")

    def _dedupe_lookup(self, options: dict[str, Any]) -> None:
        from embudo.bench import dedupe_lookup, pages

        name = options["benchmark"]
        try:
            if name == "dedupe-intake":
                from embudo.bench import dedupe_intake

                outcome = dedupe_intake.run(samples=options["samples"], warmup=options["warmup"], seed=options["seed"],
                                            min_leads=options["min_leads"], candidates=options["candidates"],
                                            stdout=self.stdout)  # fmt: skip
            elif name == "dedupe-scan":
                outcome = dedupe_lookup.run_scan(rebuild_keys=options["rebuild_keys"], limit=options["limit"],
                                                 min_leads=options["min_leads"], stdout=self.stdout)  # fmt: skip
            else:
                outcome = dedupe_lookup.run(samples=options["samples"], warmup=options["warmup"], seed=options["seed"],
                                            min_leads=options["min_leads"], stdout=self.stdout)  # fmt: skip
        except pages.NotSeeded as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.table(["figure", "value"], list(outcome.figures.items())))
        path = report.write_result(name, parameters=outcome.parameters, figures=outcome.figures,
                                   extra=outcome.extra, output_dir=options["output_dir"])  # fmt: skip
        self.stdout.write(f"\nWrote {path}")

    def _predictive(self, options: dict[str, Any]) -> None:
        from embudo.bench import predictive

        try:
            outcome = predictive.run(seed=options["seed"])
        except predictive.MissingBenchData as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.table(["figure", "model", "baseline (naive Bayes)"], predictive.rows(outcome)))
        path = report.write_result("predictive", parameters=outcome.parameters, figures=outcome.figures,
                                   extra=outcome.extra, output_dir=options["output_dir"])  # fmt: skip
        self.stdout.write(f"\nWrote {path}")

    def _scoring(self, options: dict[str, Any]) -> None:
        from embudo.bench import pages, scoring

        try:
            outcome = scoring.run(min_leads=options["min_leads"], events=not options["no_events"], stdout=self.stdout)
        except pages.NotSeeded as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.table(["figure", "value"], list(outcome.figures.items())))
        path = report.write_result("scoring", parameters=outcome.parameters, figures=outcome.figures,
                                   extra=outcome.extra, output_dir=options["output_dir"])  # fmt: skip
        self.stdout.write(f"\nWrote {path}")

    def _routing(self, name: str, options: dict[str, Any]) -> None:
        from embudo.bench import routing

        if name == "speed-to-lead":
            outcome = routing.run_speed(
                seconds=options["seconds"], rate=options["rate"], clients=options["clients"],
                workers=options["workers"], threads=options["threads"], port=options["port"],
                floor_seconds=options["floor_seconds"], stdout=self.stdout,
            )  # fmt: skip
        else:
            outcome = routing.run_fairness(
                assignments=options["assignments"], threads=options["threads"], stdout=self.stdout
            )
        rows = [(k, v) for k, v in outcome.figures.items() if not isinstance(v, dict)]
        for k, v in outcome.figures.items():
            if isinstance(v, dict):
                rows += [(f"{k} {sub}", value) for sub, value in v.items()]
        self.stdout.write(report.table(["figure", "value"], rows))
        path = report.write_result(name, parameters=outcome.parameters, figures=outcome.figures,
                                   extra=outcome.extra, output_dir=options["output_dir"])  # fmt: skip
        self.stdout.write(f"\nWrote {path}")
