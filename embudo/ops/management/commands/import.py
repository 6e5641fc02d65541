"""``embudo import leads FILE.csv``: a CSV file through the bulk import path, in this process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import imports


class Command(BaseCommand):
    help = "Import leads from a CSV file (same normalization, matching and audit trail as every channel)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        leads = sub.add_parser("leads", help="Import leads from a CSV file.")
        leads.add_argument("file", type=Path)
        leads.add_argument(
            "--mapping", action="append", default=[], metavar="COLUMN=FIELD",
            help="Map a column to a lead field, custom:<key>, or nothing (COLUMN=) to ignore it. Repeatable.",
        )  # fmt: skip
        leads.add_argument("--mapping-file", type=Path, help='A JSON object {"column": "field", …}.')
        leads.add_argument("--source", default="", help="Source of these leads; the mapping is saved for it.")
        leads.add_argument("--region", default="", help="Country for phone numbers without a country code (ES).")
        leads.add_argument("--team", default="", help="Team name the new leads belong to.")
        leads.add_argument("--workers", type=int, default=None, help="Normalizer processes (default: up to 2).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            self._fail(f"No such file: {path}")
        try:
            columns = imports.preview(path, rows=1).columns
            mapping = self._mapping(options, columns)
            team_id = self._team(options["team"])
            job = imports.create_job_for_file(
                path=path.resolve(), mapping=mapping, source=options["source"], default_region=options["region"],
                team_id=team_id,
            )  # fmt: skip
        except imports.ImportError_ as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.fields or {}).items())
            self._fail(f"{exc}{' ' + detail if detail else ''}")
        if options["source"]:
            imports.save_mapping(source=options["source"], mapping=job.mapping)
        mapped = ", ".join(f"{c} → {t}" for c, t in job.mapping.items() if t) or "nothing"
        self.stdout.write(f"Importing {path.name} (job {job.pk}): {mapped}")

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r  {done:,} / ~{total:,} rows read")
            sys.stderr.flush()

        try:
            summary = imports.run_import(job_id=job.pk, workers=options["workers"], progress=progress)
        except imports.ImportError_ as exc:
            sys.stderr.write("\n")
            self._fail(str(exc))
        sys.stderr.write("\n")
        self.stdout.write(
            f"{summary.rows:,} rows in {summary.seconds:.1f} s: {summary.created:,} created, "
            f"{summary.merged:,} merged, {summary.rejected:,} rejected."
        )
        if summary.rejected:
            self.stdout.write(f"Rejected rows and why: {summary.report_path}")

    def _mapping(self, options: dict[str, Any], columns: list[str]) -> dict[str, str] | None:
        mapping: dict[str, str] | None = None
        if options["mapping_file"]:
            try:
                data = json.loads(Path(options["mapping_file"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                self._fail(f"Cannot read the mapping file: {exc}")
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                self._fail('The mapping file must hold a JSON object {"column": "field", …}.')
            mapping = {str(k): v for k, v in data.items()}
        if options["mapping"]:
            base = mapping if mapping is not None else imports.propose_mapping(columns, source=options["source"])
            mapping = dict(base)
            for item in options["mapping"]:
                column, sep, target = item.partition("=")
                if not sep:
                    self._fail(f"--mapping {item!r}: use COLUMN=FIELD.")
                mapping[column.strip()] = target.strip()
        if mapping is not None:
            proposal = imports.propose_mapping(columns, source=options["source"])
            mapping = {**dict.fromkeys(proposal, ""), **mapping} if options["mapping_file"] else mapping
        return mapping

    def _team(self, name: str) -> int | None:
        if not name:
            return None
        for team in accounts_selectors.list_teams():
            if team.name.lower() == name.strip().lower():
                return int(team.pk)
        self._fail(f"No team named {name!r}.")
        return None

    def _fail(self, message: str) -> None:
        raise CommandError(message, returncode=2)
