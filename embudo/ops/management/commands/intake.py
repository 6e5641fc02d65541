"""`embudo intake report --since 7d [--json]` and `embudo intake replay [--id N …] [--failed] [--pending]`.

``report`` prints the reconciliation (received = created + merged + rejected + quarantined + pending +
failed) and exits with status 1 when any submission is unexplained. ``replay`` processes again the
given submissions (or all failed / pending ones) and prints what happened to each.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from embudo.capture import selectors, selectors_ops, services
from embudo.capture.models import SubmissionStatus

BUCKETS = ("created", "merged", "rejected", "quarantined", "pending", "failed")


class Command(BaseCommand):
    help = "Intake reconciliation report and replay of failed or pending submissions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help="received = created + merged + rejected + … with 0 unexplained.")
        report.add_argument("--since", default="all", help="today, 24h, 7d, 2w, all or a date (2026-11-01).")
        report.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        replay = sub.add_parser("replay", help="Process failed or pending submissions again.")
        replay.add_argument("--id", dest="ids", type=int, action="append", default=[], help="A submission id.")
        replay.add_argument("--failed", action="store_true", help="All failed submissions.")
        replay.add_argument("--pending", action="store_true", help="All pending submissions.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "report":
            self._report(since_text=options["since"], as_json=options["json"])
        else:
            self._replay(ids=options["ids"], failed=options["failed"], pending=options["pending"])

    def _report(self, *, since_text: str, as_json: bool) -> None:
        try:
            since = selectors_ops.parse_since(since_text)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        report = selectors.reconcile(since=since)
        if as_json:
            data = {
                "since": since.isoformat() if since else None,
                "received": report.received,
                **{bucket: getattr(report, bucket) for bucket in BUCKETS},
                "unexplained": report.unexplained,
                "rejected_reasons": report.rejected_reasons,
                "quarantine_reasons": report.quarantine_reasons,
                "by_channel": report.by_channel,
            }
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
        else:
            self._table(report)
        if report.unexplained:
            raise CommandError(f"{report.unexplained} submission(s) unexplained.", returncode=1)

    def _table(self, report: selectors.Reconciliation) -> None:
        since = report.since.isoformat(timespec="seconds") if report.since else "the beginning"
        self.stdout.write(f"Intake since {since}")
        self.stdout.write(f"received {report.received} = " + " + ".join(f"{b} {getattr(report, b)}" for b in BUCKETS))
        columns = ("channel", "received", *BUCKETS)
        rows = [
            (channel, str(sum(counts.values())), *(str(counts.get(b, 0)) for b in BUCKETS))
            for channel, counts in sorted(report.by_channel.items())
        ]
        rows.append(("total", str(report.received), *(str(getattr(report, b)) for b in BUCKETS)))
        widths = [max(len(col), *(len(row[i]) for row in rows)) for i, col in enumerate(columns)]
        self.stdout.write("  ".join(col.ljust(w) if i == 0 else col.rjust(w) for i, (col, w) in
                                    enumerate(zip(columns, widths, strict=True))))  # fmt: skip
        for row in rows:
            self.stdout.write("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in
                                        enumerate(zip(row, widths, strict=True))))  # fmt: skip
        for label, reasons in (("rejected", report.rejected_reasons), ("quarantined", report.quarantine_reasons)):
            for reason, n in sorted(reasons.items()):
                self.stdout.write(f"{label}: {reason} {n}")
        style = self.style.ERROR if report.unexplained else self.style.SUCCESS
        self.stdout.write(style(f"unexplained {report.unexplained}"))

    def _replay(self, *, ids: list[int], failed: bool, pending: bool) -> None:
        statuses = [
            s for s, wanted in ((SubmissionStatus.FAILED, failed), (SubmissionStatus.PENDING, pending)) if wanted
        ]
        submission_ids = list(dict.fromkeys([*ids, *selectors_ops.list_submission_ids(statuses=statuses)]))
        if not ids and not statuses:
            raise CommandError("Say what to replay: --id N, --failed and/or --pending.")
        before = {s.pk: s.status for s in selectors_ops.list_submissions_by_id(submission_ids)}
        missing = [i for i in submission_ids if i not in before]
        for submission_id in missing:
            self.stderr.write(f"#{submission_id}: no such submission")
        known = [i for i in submission_ids if i in before]
        if not known:
            self.stdout.write("Nothing to replay.")
            return
        services.replay_submissions(submission_ids=known)
        for submission in selectors_ops.list_submissions_by_id(known):
            result = submission.status + (f" ({submission.outcome})" if submission.outcome else "")
            detail = f" lead #{submission.lead_id}" if submission.lead_id else ""
            detail += f" reason {submission.reason}" if submission.reason else ""
            detail += f" error: {submission.error.splitlines()[-1] if submission.error else ''}" if (
                submission.status == SubmissionStatus.FAILED) else ""  # fmt: skip
            self.stdout.write(f"#{submission.pk} {submission.channel}: {before[submission.pk]} -> {result}{detail}")
        self.stdout.write(f"Replayed {len(known)} submission(s).")
