"""``embudo import leads FILE.csv``: a CSV file through the bulk import path, in this process.

``embudo import leads --resume JOB_ID`` runs a failed (or stalled) import again, after its last saved batch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import imports
from embudo.capture.models import ImportJob


class Command(BaseCommand):
    help = "Import leads from a CSV file (same normalization, matching and audit trail as every channel)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        leads = sub.add_parser("leads", help="Import leads from a CSV file.")
        leads.add_argument("file", type=Path, nargs="?", help="The CSV file (omit it with --resume).")
        leads.add_argument(
            "--resume", type=int, metavar="JOB_ID",
            help="Resume a failed or stopped import after its last saved row (its file, mapping and options).",
        )  # fmt: skip
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
        if options["resume"] is not None:
            if options["file"] is not None:
                self._fail("Give either a FILE or --resume JOB_ID, not both.")
            self._resume(options["resume"], options)
            return
        path: Path | None = options["file"]
        if path is None:
            self._fail("Give the CSV FILE to import (or --resume JOB_ID).")
            return
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
        earlier = imports.find_earlier_import(job)
        if earlier is not None:
            when = earlier.started_at or earlier.created_at
            self.stderr.write(
                f"Warning: this file was already imported on {when:%Y-%m-%d %H:%M} (import #{earlier.pk})."
            )
        mapped = ", ".join(f"{c} → {t}" for c, t in job.mapping.items() if t) or "nothing"
        self.stdout.write(f"Importing {path.name} (job {job.pk}): {mapped}")
        self._run(job.pk, options)

    def _resume(self, job_id: int, options: dict[str, Any]) -> None:
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None:
            self._fail(f"No import job {job_id}.")
            return
        try:
            imports.resume_import(job_id=job.pk, defer=False)
        except imports.ImportError_:
            self._fail(f"Import job {job.pk} is {job.status}: only a failed import, or one whose run stopped, "
                       "can be resumed.")  # fmt: skip
        self.stdout.write(f"Resuming {job.file_name} (job {job.pk}) after {job.processed_rows:,} saved rows.")
        self._run(job.pk, options)

    def _run(self, job_id: int, options: dict[str, Any]) -> None:
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r  {done:,} / ~{total:,} rows read")
            sys.stderr.flush()

        try:
            summary = imports.run_import(job_id=job_id, workers=options["workers"], progress=progress)
        except Exception as exc:
            sys.stderr.write("\n")
            job = ImportJob.objects.get(pk=job_id)
            hint = ""
            if job.status == "failed":
                hint = (f". {job.processed_rows:,} rows were saved; resume after them with: "
                        f"embudo import leads --resume {job_id}")  # fmt: skip
            code = 2 if isinstance(exc, imports.ImportError_) else 1
            raise CommandError(f"Import job {job_id} failed: {exc}{hint}", returncode=code) from exc
        sys.stderr.write("\n")
        self.stdout.write(
            f"{summary.rows:,} rows in {summary.seconds:.1f} s: {summary.created:,} created, "
            f"{summary.merged:,} merged, {summary.rejected:,} rejected."
        )
        if summary.routes_new_leads:
            self.stdout.write("New leads are routed by the routing rules.")
        else:
            self.stdout.write(f"New leads are not routed (more than {imports.ROUTE_IMPORTED_MAX:,} rows): "
                              "they wait unassigned in the team queue.")  # fmt: skip
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
