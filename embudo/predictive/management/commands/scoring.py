"""``embudo scoring train | evaluate | import-outcomes``: predictive scoring from the command line.

- ``train``: learn from every known outcome and activate the model (or say why not: the data gate).
- ``evaluate --train A.csv --test B.csv --target COL``: the production model and the naive-Bayes
  baseline trained on any CSV, measured on another: AUC, log-loss, calibration (``--json PATH``).
- ``import-outcomes FILE.csv --target COL``: store an old CRM's closed leads as training outcomes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from embudo.predictive.domain import dataset as domain_dataset
from embudo.predictive.domain import model as domain_model


@contextmanager
def open_csv(path: Path) -> Iterator[IO[str]]:
    """A CSV (or .csv.gz) as text; a clear error for a missing or unreadable file."""
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    try:
        handle: IO[str] = (
            gzip.open(path, "rt", encoding="utf-8-sig", newline="") if path.suffix == ".gz"  # noqa: SIM115
            else path.open(encoding="utf-8-sig", newline="")
        )  # fmt: skip
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc
    with handle:
        yield handle


def read_dataset(path: Path, options: dict[str, Any]) -> domain_dataset.Dataset:
    with open_csv(path) as handle:
        try:
            return domain_dataset.read_csv(
                handle, target=options["target"], positive=options["positive"], drop=options["drop"],
                source=str(path),
            )  # fmt: skip
        except domain_dataset.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc}") from exc


def calibration_table(bins: list[Any]) -> list[tuple[str, int, str, str]]:
    return [(f"{b.lower:.1f}–{b.upper:.1f}", b.count, f"{b.predicted:.3f}", f"{b.observed:.3f}") for b in bins]


class Command(BaseCommand):
    help = "Predictive scoring: train the model, evaluate it on any CSV, import historical outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("train", help="Train on every known outcome and activate the model.")
        ev = sub.add_parser("evaluate", help="Train on one CSV and measure on another, next to a naive-Bayes baseline.")
        ev.add_argument("--train", type=Path, required=True, dest="train_file")
        ev.add_argument("--test", type=Path, required=True, dest="test_file")
        ev.add_argument("--target", required=True, help="The outcome column.")
        ev.add_argument("--positive", default=None, help="The target value that means won (default: yes/won/true/1).")
        ev.add_argument("--drop", nargs="*", default=[], help="Columns to leave out (leaks, ids).")
        ev.add_argument("--json", type=Path, default=None, dest="json_path", help="Also write the figures as JSON.")
        ev.add_argument("--seed", type=int, default=42)
        imp = sub.add_parser(
            "import-outcomes", help="Import closed leads of another CRM (a CSV with a won/lost column)."
        )
        imp.add_argument("file", type=Path)
        imp.add_argument("--target", required=True, help="The outcome column.")
        imp.add_argument("--positive", default=None, help="The target value that means won.")
        imp.add_argument("--map", nargs="*", default=[], metavar="COLUMN=FEATURE",
                         help="Rename CSV columns to lead features, e.g. Country=country.")  # fmt: skip
        imp.add_argument("--drop", nargs="*", default=[], help="Columns to leave out.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "train":
            self._train()
        elif action == "evaluate":
            self._evaluate(options)
        else:
            self._import(options)

    def _train(self) -> None:
        from embudo.predictive import exceptions, services

        try:
            model = services.train_model()
        except exceptions.NotEnoughData as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Model #{model.pk} active: {model.rows} outcomes ({model.positives} won), "
            f"AUC {model.auc:.3f} (baseline {model.baseline_auc:.3f}), log-loss {model.log_loss:.3f}."
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        from embudo.bench import report

        train = read_dataset(options["train_file"], options)
        test = read_dataset(options["test_file"], options)
        if train.positive != test.positive:
            raise CommandError(
                f"The positive value differs: {train.positive!r} in --train, {test.positive!r} in --test."
            )
        try:
            result = domain_model.evaluate(train.rows, train.labels, test.rows, test.labels, seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Trained on {result.rows_train:,} rows ({train.positives:,} {train.positive!r}), "
            f"tested on {result.rows_test:,} rows ({test.positives:,}); "
            f"{len(result.trained.schema.columns)} features.\n"
        )
        rows = [
            ("model (gradient boosting, calibrated)", f"{result.model.auc:.4f}", f"{result.model.log_loss:.4f}",
             f"{result.model.brier:.4f}"),
            ("baseline (naive Bayes)", f"{result.baseline.auc:.4f}", f"{result.baseline.log_loss:.4f}",
             f"{result.baseline.brier:.4f}"),
        ]  # fmt: skip
        self.stdout.write(report.table(["", "AUC", "log-loss", "Brier"], rows))
        self.stdout.write("\nCalibration of the model on the test set:")
        self.stdout.write(report.table(["predicted", "rows", "mean predicted", "observed"],
                                       calibration_table(result.model.calibration)))  # fmt: skip
        if options["json_path"]:
            path: Path = options["json_path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result.as_json(), indent=2) + "\n")
            self.stdout.write(f"\nWrote {path}")

    def _import(self, options: dict[str, Any]) -> None:
        from embudo.predictive import exceptions, services

        mapping: dict[str, str] = {}
        for item in options["map"]:
            column, sep, feature = item.partition("=")
            if not sep or not column or not feature:
                raise CommandError(f"--map takes COLUMN=FEATURE, not {item!r}.")
            mapping[column] = feature
        path: Path = options["file"]
        with open_csv(path) as handle:
            try:
                result = services.import_outcomes(
                    lines=handle, source_file=path.name, target=options["target"], positive=options["positive"],
                    mapping=mapping, drop=options["drop"],
                )  # fmt: skip
            except exceptions.InvalidOutcomeFile as exc:
                raise CommandError(exc.message) from exc
            except UnicodeDecodeError as exc:
                raise CommandError(f"{path} is not UTF-8 text: {exc}") from exc
        replaced = f", replacing {result.replaced:,} from an earlier import" if result.replaced else ""
        skipped = f"; {result.skipped:,} rows without an outcome skipped" if result.skipped else ""
        self.stdout.write(
            f"Imported {result.rows:,} outcomes from {result.source_file} ({result.won:,} won){replaced}{skipped}."
        )
        if result.personal_columns:
            self.stdout.write(
                "Not stored (personal data, not needed to learn): " + ", ".join(result.personal_columns) + "."
            )
