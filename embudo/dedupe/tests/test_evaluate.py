"""Evaluation metrics, weight fitting and CSV row mapping (no database)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from embudo.dedupe.domain import evaluate as ev
from embudo.dedupe.domain.compare import Record

ANA = Record(id="a1", first_name="Ana", last_name="Ruiz", email="ana@acme.es", city="Madrid", postal_code="28013")
RECORDS = [
    ANA,
    replace(ANA, id="a2", first_name="ANA", email=""),
    Record(id="b1", first_name="Robert", last_name="Smith", email="bob@globex.com"),
    Record(id="b2", first_name="Bob", last_name="Smith", email="bob@globex.com"),
    Record(id="c1", first_name="Luis", last_name="Ruiz", email="luis@acme.es", city="Madrid", postal_code="28013"),
]
TRUTH = {("a1", "a2"), ("b2", "b1")}


def test_metrics_of_sets() -> None:
    m = ev.Metrics.of({("a", "b"), ("c", "d")}, {("a", "b"), ("e", "f")})
    assert (m.precision, m.recall, m.f1) == (0.5, 0.5, 0.5)
    assert ev.Metrics.of(set(), {("a", "b")}).f1 == 0.0


def test_evaluate_reports_the_published_shape() -> None:
    result = ev.evaluate(RECORDS, TRUTH)
    shape = result.as_dict()
    assert set(shape) == {"auto_merge", "review", "pairs_compared", "seconds"}
    assert shape["auto_merge"] == result.auto_merge.as_dict()
    assert set(result.auto_merge.as_dict()) == {"precision", "recall", "f1"}
    assert result.review.recall == 1.0 and result.auto_merge.precision == 1.0
    assert result.pairs_compared >= 2


def test_fit_weights_gives_log_likelihood_ratios() -> None:
    weights, prior = ev.fit_weights(RECORDS * 1, TRUTH)
    assert weights["given_name"]["exact"] > 0 > weights["given_name"]["disagree"]
    assert math.isfinite(prior)


def test_column_mapping_self_named_overrides_and_unknown() -> None:
    mapping = ev.column_mapping(["id", "first_name", "apellido", "notes"], {"apellido": "last_name"})
    assert mapping == {"first_name": "first_name", "apellido": "last_name"}
    with pytest.raises(ValueError, match="Unknown lead field"):
        ev.column_mapping(["x"], {"x": "shoe_size"})
    with pytest.raises(ValueError, match="not in the file"):
        ev.column_mapping(["x"], {"y": "city"})


def test_records_from_rows_joins_columns_mapped_to_one_field() -> None:
    rows = [{"rid": "7", "num": "12", "street": "Calle Mayor", "first_name": "Ana", "junk": "z"}]
    mapping = ev.column_mapping(list(rows[0]), {"num": "street_address", "street": "street_address"})
    (record,) = ev.records_from_rows(rows, id_column="rid", mapping=mapping)
    assert record == Record(id="7", first_name="Ana", street_address="12 Calle Mayor")
    with pytest.raises(ValueError, match="no id"):
        ev.records_from_rows([{"rid": ""}], id_column="rid", mapping={})


def test_truth_from_rows_orders_pairs_and_skips_self_pairs() -> None:
    assert ev.truth_from_rows([["id_1", "id_2"], ["b", "a"], ["c", "c"], ["d"]]) == {("id_1", "id_2"), ("a", "b")}


def test_evaluate_command_reads_csv_files_and_writes_json(tmp_path: Path) -> None:
    records = tmp_path / "records.csv"
    records.write_text(
        "rid,nombre,last_name,email,notes\n"
        "1,José,García,jose@acme.es,x\n2,Pepe,Garcia,jose@acme.es,y\n3,Robert,Smith,bob@globex.com,z\n",
        encoding="utf-8",
    )
    truth = tmp_path / "truth.csv"
    truth.write_text("left,right\n2,1\n", encoding="utf-8")
    out = io.StringIO()
    target = tmp_path / "out" / "figures.json"
    call_command(
        "dedupe", "evaluate", "--records", str(records), "--truth", str(truth), "--id-column", "rid",
        "--map", "nombre=first_name", "--json", str(target), stdout=out,
    )  # fmt: skip
    assert "nombre → first_name" in out.getvalue()
    figures = json.loads(target.read_text())
    assert figures["review"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert set(figures) == {"auto_merge", "review", "pairs_compared", "seconds"}


def test_evaluate_command_rejects_an_unknown_field(tmp_path: Path) -> None:
    records = tmp_path / "r.csv"
    records.write_text("id,x\n1,a\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Unknown lead field"):
        call_command("dedupe", "evaluate", "--records", str(records), "--truth", str(records), "--id-column", "id",
                     "--map", "x=shoe_size", stdout=io.StringIO())  # fmt: skip
