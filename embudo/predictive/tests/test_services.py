"""Training from leads in the database, the gate, stored predictions, imported outcomes."""

from __future__ import annotations

import pytest

from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.predictive import exceptions, selectors, services
from embudo.predictive.models import HistoricalOutcome, LeadPrediction, ModelStatus, PredictiveModel
from embudo.predictive.tests.factories import make_outcomes

pytestmark = pytest.mark.django_db


def test_below_the_gate_no_model_is_trained_and_the_reason_is_given():
    make_outcomes(120)
    gate = selectors.gate()
    assert gate.rows == 120 and not gate.passed
    with pytest.raises(exceptions.NotEnoughData, match="at least 200 closed leads"):
        services.train_model()
    assert not PredictiveModel.objects.exists()
    assert selectors.prediction_for(Lead.objects.earliest("id").pk) is None


def test_customers_count_as_won_and_disqualified_as_lost():
    LeadFactory.create(lifecycle_stage="customer")
    LeadFactory.create(lifecycle_stage="disqualified")
    LeadFactory.create(outcome="won")
    LeadFactory.create()
    gate = selectors.gate()
    assert (gate.won, gate.lost) == (2, 1)


def test_training_learns_from_fit_and_behaviour_and_activates_one_model(django_assert_max_num_queries):
    leads = make_outcomes(320, open_leads=40)
    model = services.train_model()
    assert model.status == ModelStatus.ACTIVE and model.rows == 320 and model.rows_live == 320
    assert model.auc is not None and model.auc > 0.65
    assert model.baseline_auc is not None and model.log_loss is not None
    assert model.calibration and sum(b["count"] for b in model.calibration) == model.params["holdout_rows"]
    assert "activity.product_active" not in model.params["features"]  # after the close: not counted
    assert {"seniority", "activity.page_view"} <= set(model.importances)

    open_lead = leads[-1]
    selectors.load_trained(model.pk)
    with django_assert_max_num_queries(3):
        prediction = selectors.prediction_for(open_lead.pk)
    assert prediction is not None and 0 < prediction.probability < 1 and prediction.model_id == model.pk
    assert len(prediction.up) <= 3 and len(prediction.down) <= 3

    assert services.score_open_leads(model_id=model.pk, chunk=15) == 40
    assert LeadPrediction.objects.count() == 40
    stored = LeadPrediction.objects.get(lead_id=open_lead.pk)
    assert stored.probability == pytest.approx(prediction.probability, abs=1e-4)

    second = services.train_model()
    assert PredictiveModel.objects.get(pk=model.pk).status == ModelStatus.RETIRED
    active = selectors.get_active_model()
    assert active is not None and active.pk == second.pk
    assert services.score_open_leads(model_id=model.pk) == 0  # a stale job does nothing
    services.score_open_leads(model_id=second.pk)
    assert set(LeadPrediction.objects.values_list("model_id", flat=True)) == {second.pk}


def test_better_leads_get_higher_probabilities():
    make_outcomes(400)
    services.train_model()
    strong = LeadFactory.create(job_title="CEO")
    weak = LeadFactory.create(job_title="Student")
    a, b = selectors.prediction_for(strong.pk), selectors.prediction_for(weak.pk)
    assert a is not None and b is not None and a.probability > b.probability


CSV = "Stage,Country,Employees\n" + "".join(
    f"{'Won' if i % 3 == 0 else 'Lost'},{'ES' if i % 2 else 'MX'},{10 * i}\n" for i in range(90)
)


def test_import_outcomes_stores_history_and_replaces_the_same_file():
    result = services.import_outcomes(lines=CSV.splitlines(keepends=True), source_file="old.csv", target="Stage",
                                      positive="Won", mapping={"Country": "country"})  # fmt: skip
    assert (result.rows, result.won, result.replaced) == (90, 30, 0)
    row = HistoricalOutcome.objects.filter(won=True).earliest("id")
    assert row.features == {"country": "MX", "Employees": "0"} and row.source_file == "old.csv"
    again = services.import_outcomes(lines=CSV.splitlines(keepends=True), source_file="old.csv", target="Stage",
                                     positive="Won")  # fmt: skip
    assert again.replaced == 90 and HistoricalOutcome.objects.count() == 90
    gate = selectors.gate()
    assert (gate.won, gate.lost) == (30, 60)


def test_import_outcomes_rejects_a_bad_file_and_stores_nothing():
    with pytest.raises(exceptions.InvalidOutcomeFile, match="no column 'Result'"):
        services.import_outcomes(lines=CSV.splitlines(keepends=True), source_file="x.csv", target="Result")
    assert not HistoricalOutcome.objects.exists()


def test_imported_history_and_live_leads_train_together():
    make_outcomes(150)
    big = "Stage,country,company_size\n" + "".join(
        f"{'Won' if i % 4 == 0 else 'Lost'},{'ES' if i % 4 == 0 else 'MX'},1000+\n" for i in range(200)
    )
    services.import_outcomes(lines=big.splitlines(keepends=True), source_file="crm.csv", target="Stage", positive="Won")
    model = services.train_model()
    assert (model.rows_live, model.rows_imported, model.rows) == (150, 200, 350)


def test_jobs_train_quietly_below_the_gate_and_score_after_training():
    from embudo.predictive import tasks

    tasks.train(actor_id=None)  # below the gate: logs, stores nothing, raises nothing
    assert not PredictiveModel.objects.exists()
    make_outcomes(220, open_leads=5)
    tasks.train(actor_id=None)
    model = PredictiveModel.objects.get()
    tasks.score_open_leads(model_id=model.pk)
    assert LeadPrediction.objects.filter(model=model).count() == 5


def test_import_outcomes_never_stores_personal_data_columns():
    header = "Result,Email,Full Name,Mobile,Contact ref,Industry,Employees\n"
    rows = "".join(
        f"{'won' if i % 4 == 0 else 'lost'},p{i}@mail.example,Person {i},+34 600 000 {i:03d},ref-{i * 7919},"
        f"{'Retail' if i % 2 else 'Software'},{10 + i}\n"
        for i in range(80)
    )
    result = services.import_outcomes(lines=(header + rows).splitlines(keepends=True), source_file="crm.csv",
                                      target="Result")  # fmt: skip
    assert result.rows == 80
    assert set(result.personal_columns) == {"Email", "Full Name", "Mobile", "Contact ref"}
    for features in HistoricalOutcome.objects.values_list("features", flat=True):
        assert set(features) == {"Industry", "Employees"}
