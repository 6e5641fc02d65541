"""The API (model, train, lead prediction) and the pages, with their role rules."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import UserFactory
from embudo.leads.tests.factories import LeadFactory
from embudo.predictive import services
from embudo.predictive.models import HistoricalOutcome
from embudo.predictive.tests.factories import make_outcomes

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    _, token = account_services.create_api_token(user_email=user.email, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def queued_jobs(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'", [name])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def trained():
    leads = make_outcomes(260, seed=11, open_leads=3)
    return services.train_model(), leads


def test_model_api_says_rules_only_without_a_model():
    body = api(UserFactory.create(role=Role.MARKETING)).get("/api/v1/scoring/predictive/model").json()
    assert body["using"] == "rules" and body["model"] is None
    assert body["gate"]["passed"] is False and "rules only" in body["gate"]["message"]


def test_model_api_is_for_admins_marketing_and_managers():
    response = api(UserFactory.create(role=Role.SALES_REP)).get("/api/v1/scoring/predictive/model")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert api(UserFactory.create(role=Role.MANAGER)).get("/api/v1/scoring/predictive/model").status_code == 200


def test_train_api_queues_one_job_for_marketing_and_refuses_reps_and_managers():
    for role in (Role.SALES_REP, Role.MANAGER):
        assert api(UserFactory.create(role=role)).post("/api/v1/scoring/predictive/train").status_code == 403
    client = api(UserFactory.create(role=Role.MARKETING))
    first = client.post("/api/v1/scoring/predictive/train")
    assert first.status_code == 202 and first.json() == {"queued": True}
    assert client.post("/api/v1/scoring/predictive/train").json() == {"queued": False}
    assert queued_jobs("predictive.train") == 1


def test_lead_prediction_api_without_a_model_is_404_no_model():
    lead = LeadFactory.create()
    response = api(UserFactory.create(role=Role.ADMIN)).get(f"/api/v1/leads/{lead.pk}/prediction")
    assert response.status_code == 404 and response.json()["code"] == "no_model"


def test_lead_prediction_api_and_fragment_with_a_model(trained):
    model, leads = trained
    lead = leads[-1]
    admin = UserFactory.create(role=Role.ADMIN)
    body = api(admin).get(f"/api/v1/leads/{lead.pk}/prediction").json()
    assert 0 < body["probability"] < 1 and body["model_id"] == model.pk
    assert all(f["delta"] > 0 for f in body["up"]) and all(f["delta"] < 0 for f in body["down"])
    rep = UserFactory.create(role=Role.SALES_REP)
    assert api(rep).get(f"/api/v1/leads/{lead.pk}/prediction").status_code == 404  # not the rep's lead

    client = Client()
    client.force_login(admin)
    fragment = client.get(f"/scoring/predictive/leads/{lead.pk}/").content.decode()
    assert f"{round(100 * body['probability'])}%" in fragment and "chance to win" in fragment
    client.force_login(rep)
    assert client.get(f"/scoring/predictive/leads/{lead.pk}/").status_code == 404


def test_home_shows_the_model_metrics_calibration_and_importances(trained):
    model, _ = trained
    client = Client()
    client.force_login(UserFactory.create(role=Role.MARKETING))
    page = client.get("/scoring/predictive/").content.decode()
    assert f"{model.auc:.3f}" in page and "Calibration" in page and "<svg" in page and "Train now" in page
    assert "What the model looks at" in page and "Seniority" in page
    body = api(UserFactory.create(role=Role.MANAGER)).get("/api/v1/scoring/predictive/model").json()
    assert body["using"] == "model" and body["model"]["rows"] == 260 and body["model"]["calibration"]


def test_home_without_a_model_says_rules_only_and_why():
    client = Client()
    client.force_login(UserFactory.create(role=Role.MANAGER))
    page = client.get("/scoring/predictive/").content.decode()
    assert "Using rules only" in page and "at least 200 closed leads" in page
    assert "Train now" not in page  # managers look, admins and marketing train


def test_pages_refuse_reps_and_train_button_queues_a_job():
    client = Client()
    client.force_login(UserFactory.create(role=Role.SALES_REP))
    assert client.get("/scoring/predictive/").status_code == 403
    assert client.post("/scoring/predictive/train/").status_code == 403
    assert client.get("/scoring/predictive/import/").status_code == 403
    client.force_login(UserFactory.create(role=Role.ADMIN))
    response = client.post("/scoring/predictive/train/", follow=True)
    assert "Training queued" in response.content.decode() and queued_jobs("predictive.train") == 1


def test_import_page_imports_a_csv_and_shows_errors():
    client = Client()
    client.force_login(UserFactory.create(role=Role.MARKETING))
    csv = b"Stage,Country\nWon,ES\nLost,MX\nLost,ES\n"
    bad = client.post("/scoring/predictive/import/", {"file": SimpleUploadedFile("old.csv", csv), "target": "Result"})
    assert bad.status_code == 200 and "no column" in bad.content.decode() and not HistoricalOutcome.objects.exists()
    form = {"file": SimpleUploadedFile("old.csv", csv), "target": "Stage", "positive": "Won",
            "mapping": "Country=country"}  # fmt: skip
    response = client.post("/scoring/predictive/import/", form)
    assert response.status_code == 302
    assert sorted(HistoricalOutcome.objects.values_list("won", flat=True)) == [False, False, True]
    page = client.get("/scoring/predictive/").content.decode()
    assert "old.csv" in page
    client.post("/scoring/predictive/import/delete/", {"source_file": "old.csv"})
    assert not HistoricalOutcome.objects.exists()


def test_json_error_shape_for_lead_not_found():
    response = api(UserFactory.create(role=Role.ADMIN)).get("/api/v1/leads/999999/prediction")
    assert response.status_code == 404 and set(json.loads(response.content)) == {"code", "message", "fields"}
