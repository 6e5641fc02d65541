"""Pure predictive logic: metrics, the naive-Bayes baseline, features, CSV reading, the model."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss as sk_log_loss  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score

from embudo.predictive.domain import dataset, features, metrics, model
from embudo.predictive.domain.baseline import NaiveBayes

labelled = st.lists(
    st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2))), min_size=2, max_size=60
).filter(lambda rows: 0 < sum(y for y, _ in rows) < len(rows))


@given(labelled)
def test_auc_matches_sklearn_including_ties(rows):
    y, p = zip(*rows, strict=True)
    assert metrics.auc(y, p) == pytest.approx(roc_auc_score(y, p))


@given(labelled)
def test_auc_is_symmetric_under_score_reversal(rows):
    y, p = zip(*rows, strict=True)
    assert metrics.auc(y, p) + metrics.auc(y, [1 - v for v in p]) == pytest.approx(1.0)


@given(labelled)
def test_log_loss_matches_sklearn(rows):
    y, p = zip(*rows, strict=True)
    clipped = np.clip(p, metrics.EPSILON, 1 - metrics.EPSILON)
    assert metrics.log_loss(y, p) == pytest.approx(sk_log_loss(y, clipped, labels=[0, 1]), rel=1e-6)


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])


@given(labelled)
def test_calibration_bins_cover_every_row_and_stay_in_range(rows):
    y, p = zip(*rows, strict=True)
    bins = metrics.calibration_bins(y, p, bins=5)
    assert sum(b.count for b in bins) == len(rows)
    for b in bins:
        assert b.lower <= b.predicted <= b.upper + 1e-9
        assert 0 <= b.observed <= 1


def test_perfectly_calibrated_predictions_have_no_calibration_error():
    y = [1] * 3 + [0] * 7 + [1] * 8 + [0] * 2
    p = [0.3] * 10 + [0.8] * 10
    assert metrics.expected_calibration_error(metrics.calibration_bins(y, p)) == pytest.approx(0.0)


def _synthetic(n: int, seed: int = 1) -> tuple[list[dict], list[int]]:
    """Won depends on seniority, size and a behaviour count; 'city' is noise."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        level = rng.choice(["c_level", "director", "individual", "student"])
        size = rng.choice(["1-10", "51-200", "1000+"])
        visits = rng.randint(0, 8)
        x = -1.5 + {"c_level": 1.5, "director": 1.0, "individual": 0, "student": -2}[level]
        x += {"1-10": -0.5, "51-200": 0, "1000+": 0.8}[size] + 0.3 * visits
        labels.append(int(rng.random() < 1 / (1 + math.exp(-x))))
        row = {"seniority": level, "company_size": size, "activity.page_view": visits or None,
               "city": rng.choice(["Madrid", "Lima", "Quito"])}  # fmt: skip
        rows.append(row)
    return rows, labels


def test_naive_bayes_learns_a_discriminative_field():
    rows, labels = _synthetic(800)
    schema = features.infer_schema(rows)
    nb = NaiveBayes(schema).fit(rows, labels)
    test_rows, test_labels = _synthetic(400, seed=2)
    p = nb.predict_proba(test_rows)
    assert ((p > 0) & (p < 1)).all()
    assert metrics.auc(test_labels, p) > 0.7


def test_naive_bayes_handles_unseen_values_and_missing():
    rows, labels = _synthetic(200)
    nb = NaiveBayes(features.infer_schema(rows)).fit(rows, labels)
    p = nb.predict_proba([{"seniority": "astronaut", "company_size": None, "activity.page_view": 99}, {}])
    assert all(0 < v < 1 for v in p)


def test_infer_schema_types_columns_and_drops_identifiers_and_constants():
    rows: list[dict[str, object]] = [
        {"age": str(20 + i % 30), "job": ["a", "b", "c"][i % 3], "email": f"p{i}@x.org", "const": "k",
         "activity.page_view": i % 2 or None} for i in range(120)
    ]  # fmt: skip
    schema = features.infer_schema(rows, drop=["job"])
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {"age": "numeric", "activity.page_view": "numeric"}


def test_encode_uses_codes_nan_for_unknown_and_zero_for_missing_counts():
    rows: list[dict[str, object]] = [
        {"job": "a", "n": "1.5", "activity.x": 2},
        {"job": "b", "n": "", "activity.x": None},
        {"job": "a"},
    ]
    schema = features.infer_schema(rows)
    matrix = features.encode([{"job": "zzz", "n": "2"}, {"job": "b"}], schema)
    by_name = dict(zip(schema.names, range(3), strict=True))
    assert math.isnan(matrix[0, by_name["job"]]) and matrix[0, by_name["n"]] == 2.0
    assert matrix[1, by_name["job"]] == 1.0 and matrix[1, by_name["activity.x"]] == 0.0
    assert math.isnan(matrix[1, by_name["n"]])


@pytest.mark.parametrize(
    ("title", "level"),
    [("CEO", "c_level"), ("Co-founder & CTO", "c_level"), ("VP of Sales", "vp"), ("Directora de Marketing", "director"),
     ("Head of IT", "director"), ("Gerente comercial", "manager"), ("Estudiante", "student"), ("Analyst", "individual"),
     ("", "")],
)  # fmt: skip
def test_seniority_buckets_english_and_spanish_titles(title, level):
    assert features.seniority(title) == level


def test_lead_features_combine_fit_and_behaviour():
    row = features.lead_features({"country": "ES", "job_title": "CEO", "bant_known": 3, "company_size": "1000+"},
                                 {"activity.page_view": 4, "demo_requested": 1})  # fmt: skip
    assert row["seniority"] == "c_level" and row["bant_known"] == 3 and row["company_size"] == "1000+"
    assert row["activity.page_view"] == 4 and row["activity.demo_requested"] == 1 and row["source"] == ""


CSV = "id,country,visits,won\n1,ES,3,yes\n2,MX,1,no\n3,ES,,yes\n4,,2,\n5,CO,0,no\n"


def test_read_csv_labels_positive_rows_and_skips_rows_without_outcome():
    data = dataset.read_csv(CSV.splitlines(keepends=True), target="won", drop=["id"], mapping={"visits": "v"})
    assert data.labels == [1, 0, 1, 0] and data.skipped == 1 and data.positive == "yes"
    assert data.rows[0] == {"country": "ES", "v": "3"} and data.columns == ["country", "v"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"target": "nope"}, "no column 'nope'"), ({"target": "won", "drop": ["zzz"]}, "no column 'zzz'"),
     ({"target": "won", "positive": "Won"}, "No row has the positive value 'Won'"),
     ({"target": "country"}, "Cannot tell which target value means won")],
)  # fmt: skip
def test_read_csv_explains_what_is_wrong(kwargs, message):
    with pytest.raises(dataset.DatasetError, match=message):
        dataset.read_csv(CSV.splitlines(keepends=True), **kwargs)


def test_read_csv_rejects_a_one_class_target_and_an_empty_file():
    with pytest.raises(dataset.DatasetError, match="one value only"):
        dataset.read_csv(["a,won\n", "1,yes\n", "2,yes\n"], target="won")
    with pytest.raises(dataset.DatasetError, match="empty"):
        dataset.read_csv([], target="won")


@settings(deadline=None, max_examples=1)
@given(st.just(None))
def test_model_beats_chance_and_explains_itself(_):
    rows, labels = _synthetic(1200)
    test_rows, test_labels = _synthetic(600, seed=3)
    result = model.evaluate(rows, labels, test_rows, test_labels)
    assert result.model.auc > 0.72 and result.baseline.auc > 0.65
    assert set(result.as_json()) == {"model", "baseline", "rows_train", "rows_test"}
    probability, up, down = result.trained.explain(
        {"seniority": "c_level", "company_size": "1000+", "activity.page_view": 8, "city": "Lima"}
    )
    assert 0 < probability < 1
    assert up and up[0].feature in {"seniority", "company_size", "activity.page_view"} and up[0].delta > 0
    assert not down or down[0].delta < 0
    importances = result.trained.importances(features.encode(rows, result.trained.schema), sample=100)
    assert next(iter(importances)) != "city"


def test_model_survives_a_pickle_round_trip_and_rejects_other_objects():
    rows, labels = _synthetic(300)
    trained = model.fit(rows, labels)
    again = model.loads(model.dumps(trained))
    assert np.allclose(again.predict(rows[:20]), trained.predict(rows[:20]))
    with pytest.raises(TypeError):
        model.loads(__import__("pickle").dumps({"not": "a model"}))


def test_fit_refuses_one_class():
    with pytest.raises(ValueError, match="both outcomes"):
        model.fit([{"a": 1}, {"a": 2}], [1, 1])
