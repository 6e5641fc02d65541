"""``embudo scoring evaluate | import-outcomes | train`` from the command line."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from embudo.predictive.models import HistoricalOutcome, PredictiveModel


def write_csv(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = ["id,plan,employees,visits,converted"]
    for i in range(n):
        plan = rng.choice(["free", "pro", "enterprise"])
        employees = rng.randint(1, 500)
        visits = rng.randint(0, 10)
        x = -2 + {"free": -1, "pro": 0.5, "enterprise": 1.5}[plan] + 0.25 * visits + employees / 500
        converted = "yes" if rng.random() < 1 / (1 + 2.718**-x) else "no"
        lines.append(f"{i},{plan},{employees},{visits if rng.random() > 0.1 else ''},{converted}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str) -> str:
    out = StringIO()
    call_command("scoring", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_evaluate_prints_model_and_baseline_and_writes_the_json(tmp_path: Path):
    train = write_csv(tmp_path / "train.csv", 600, 1)
    test = write_csv(tmp_path / "test.csv", 300, 2)
    out = run("evaluate", "--train", str(train), "--test", str(test), "--target", "converted", "--drop", "id",
              "--json", str(tmp_path / "out" / "result.json"))  # fmt: skip
    assert "baseline (naive Bayes)" in out and "Calibration" in out
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert set(result) == {"model", "baseline", "rows_train", "rows_test"}
    assert set(result["model"]) == set(result["baseline"]) == {"auc", "log_loss"}
    assert (result["rows_train"], result["rows_test"]) == (600, 300)
    assert result["model"]["auc"] > 0.7


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--target", "nope"], "no column 'nope'"), (["--target", "converted", "--positive", "si"], "positive value 'si'"),
     (["--target", "converted", "--drop", "zz"], "no column 'zz'"), (["--target", "plan"], "Give it with --positive")],
)  # fmt: skip
def test_evaluate_explains_bad_arguments(tmp_path: Path, args, message):
    train = write_csv(tmp_path / "train.csv", 50, 1)
    with pytest.raises(CommandError, match=message):
        run("evaluate", "--train", str(train), "--test", str(train), *args)


def test_evaluate_rejects_a_missing_file_and_a_one_class_target(tmp_path: Path):
    with pytest.raises(CommandError, match="No such file"):
        run("evaluate", "--train", str(tmp_path / "none.csv"), "--test", "x.csv", "--target", "y")
    one = tmp_path / "one.csv"
    one.write_text("a,y\n1,yes\n2,yes\n")
    with pytest.raises(CommandError, match="one value only"):
        run("evaluate", "--train", str(one), "--test", str(one), "--target", "y")


@pytest.mark.django_db
def test_import_outcomes_imports_and_reports(tmp_path: Path):
    path = write_csv(tmp_path / "crm.csv", 80, 3)
    out = run("import-outcomes", str(path), "--target", "converted", "--map", "plan=source", "--drop", "id")
    assert "Imported 80 outcomes from crm.csv" in out
    assert set(HistoricalOutcome.objects.values_list("features", flat=True)[0]) == {"source", "employees", "visits"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [(["--target", "outcome"], "no column 'outcome'"), (["--target", "converted", "--map", "plan"], "COLUMN=FEATURE"),
     (["--target", "converted", "--positive", "Won"], "positive value 'Won'")],
)  # fmt: skip
def test_import_outcomes_errors_store_nothing(tmp_path: Path, args, message):
    path = write_csv(tmp_path / "crm.csv", 20, 3)
    with pytest.raises(CommandError, match=message):
        run("import-outcomes", str(path), *args)
    with pytest.raises(CommandError, match="No such file"):
        run("import-outcomes", str(tmp_path / "missing.csv"), "--target", "x")
    assert not HistoricalOutcome.objects.exists()


@pytest.mark.django_db
def test_train_below_the_gate_says_why():
    with pytest.raises(CommandError, match="uses the rules only"):
        run("train")
    assert not PredictiveModel.objects.exists()


@pytest.mark.django_db
def test_train_reports_the_new_model():
    from embudo.predictive.tests.factories import make_outcomes

    make_outcomes(260)
    assert "AUC" in run("train")
    assert PredictiveModel.objects.filter(status="active").count() == 1
