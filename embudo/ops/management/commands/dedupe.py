"""``embudo dedupe <action>``: duplicate matching from the command line.

``evaluate`` runs the production matcher (blocking + comparison from ``embudo.dedupe.domain``) over
records from any CSV file and labelled duplicate pairs, and prints precision, recall and F1 at the
auto-merge and review thresholds, pairs compared and seconds; no database needed.
Actions are subcommands, so more (``scan``) can sit beside it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.dedupe.domain import compare, evaluate


class Command(BaseCommand):
    help = "Duplicates: `scan` the stored leads for duplicates, or `evaluate` the matcher on a labelled CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="Precision, recall and F1 of the matcher on labelled records.")
        ev.add_argument("--records", type=Path, required=True, help="CSV file of records, one per row, with a header.")
        ev.add_argument("--truth", type=Path, required=True, help="CSV file of duplicate pairs: two id columns.")
        ev.add_argument("--id-column", required=True, help="The records' id column (the ids the truth file uses).")
        ev.add_argument(
            "--map", action="append", default=[], metavar="CSV_COLUMN=LEAD_FIELD",
            help="Read a column as a lead field (repeatable; several columns to one field are joined). "
            f"Columns already named like a lead field map themselves. Lead fields: {', '.join(evaluate.LEAD_FIELDS)}.",
        )  # fmt: skip
        ev.add_argument("--json", type=Path, default=None, help="Also write the figures to this JSON file.")
        scan = sub.add_parser("scan", help="Queue likely duplicates among stored leads (incremental).")
        scan.add_argument("--from-start", action="store_true", help="Scan every lead again, not only new ones.")
        scan.add_argument("--batch", type=int, default=10_000, help="Leads per batch (default 10,000).")
        scan.add_argument("--limit", type=int, default=None, help="Stop after this many leads.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "evaluate":
            self._evaluate(options)
        elif options["action"] == "scan":
            self._scan(options)
        else:  # pragma: no cover - argparse rejects it
            raise CommandError(f"Unknown action {options['action']!r}.")

    def _scan(self, options: dict[str, Any]) -> None:
        from embudo.dedupe import services

        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1.")

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // total if total else width
            self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} leads", ending="")
            self.stdout.flush()

        result = services.scan(
            since_id=0 if options["from_start"] else None,
            batch=options["batch"],
            limit=options["limit"],
            progress=progress,
        )
        self.stdout.write("")
        self.stdout.write(
            f"Scanned {result.scanned:,} leads in {result.seconds:.1f} s: {result.candidates:,} likely duplicates "
            f"queued for review (up to lead #{result.last_lead_id})."
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        for key in ("records", "truth"):
            if not options[key].is_file():
                raise CommandError(f"No such file: {options[key]}")
        overrides: dict[str, str] = {}
        for item in options["map"]:
            column, sep, field = item.partition("=")
            if not sep or not column.strip() or not field.strip():
                raise CommandError(f"--map takes CSV_COLUMN=LEAD_FIELD, not {item!r}.")
            overrides[column.strip()] = field.strip()
        try:
            with options["records"].open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                columns = list(reader.fieldnames or [])
                if options["id_column"] not in columns:
                    raise CommandError(f"No column {options['id_column']!r} in {options['records']}.")
                mapping = evaluate.column_mapping(columns, overrides)
                records = evaluate.records_from_rows(reader, id_column=options["id_column"], mapping=mapping)
            with options["truth"].open(newline="", encoding="utf-8-sig") as handle:
                truth = evaluate.truth_from_rows(csv.reader(handle))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        ids = {r.id for r in records}
        truth = {pair for pair in truth if pair[0] in ids and pair[1] in ids}  # drops a header row
        mapped = ", ".join(f"{c} → {f}" for c, f in mapping.items()) or "nothing"
        self.stdout.write(f"{len(records):,} records ({mapped}); {len(truth):,} true pairs")
        result = evaluate.evaluate(records, truth)
        self.stdout.write(f"{'threshold':<22}{'precision':>10}{'recall':>10}{'f1':>10}")
        for label, value, metrics in (
            ("auto-merge", compare.AUTO_MERGE, result.auto_merge),
            ("review", compare.REVIEW, result.review),
        ):
            name = f"{label} (≥ {value})"
            self.stdout.write(f"{name:<22}{metrics.precision:>10.4f}{metrics.recall:>10.4f}{metrics.f1:>10.4f}")
        self.stdout.write(
            f"pairs compared {result.pairs_compared:,} · blocking recall {result.blocking_recall:.4f} · "
            f"{result.seconds:.2f} s"
        )
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(result.as_dict(), indent=2) + "\n")
            self.stdout.write(f"Wrote {options['json']}")
