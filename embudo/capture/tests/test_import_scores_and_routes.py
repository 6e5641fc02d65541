"""A CSV import hands its leads to scoring and routing as jobs committed with the batch."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.capture import imports
from embudo.leads.models import Lead
from embudo.routing import tasks as routing_tasks
from embudo.routing.tests.conftest import build_setup
from embudo.scoring import services as scoring_services
from embudo.scoring import tasks as scoring_tasks
from embudo.scoring.models import ScoreEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def test_imported_leads_are_scored_and_routed_by_the_jobs_of_their_batch(tmp_path: Path) -> None:
    setup = build_setup()
    draft = scoring_services.create_draft(actor=None)
    scoring_services.update_draft(draft.pk, actor=None, rules=[
        {"kind": "fit", "label": "Spain", "points": 30,
         "conditions": [{"field": "country", "op": "equals", "value": "ES"}]},
    ])  # fmt: skip
    scoring_services.publish(draft.pk, actor=None, rescore="now")
    path = tmp_path / "list.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "email", "country"])
        writer.writerows([["Ana", "ana@acme.es", "ES"], ["Luis", "luis@acme.mx", "MX"], ["Eva", "eva@acme.es", "ES"]])
    job = imports.create_job_for_file(path=path, mapping=None, source="fair-2026")
    imports.run_import(job_id=job.pk)

    jobs = {j.task_name: j.args for j in ProcrastinateJob.objects.filter(
        task_name__in=["scoring.score_leads", "routing.route_leads"])}  # fmt: skip
    assert set(jobs) == {"scoring.score_leads", "routing.route_leads"}
    scoring_tasks.score_leads(**jobs["scoring.score_leads"])
    routing_tasks.route_leads(**jobs["routing.route_leads"])

    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert leads["ana@acme.es"].score == 30 and leads["luis@acme.mx"].score == 0
    for lead in leads.values():
        assert lead.score == (ScoreEntry.objects.filter(lead_id=lead.pk).aggregate(s=Sum("points"))["s"] or 0)
    assert leads["ana@acme.es"].owner_id in {u.pk for u in setup.iberia_reps}
    assert leads["luis@acme.mx"].owner_id in {u.pk for u in setup.americas_reps}
