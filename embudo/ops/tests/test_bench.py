from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.functions import Lower

from embudo.accounts.models import User
from embudo.bench.pages import percentile
from embudo.core.models import DomainEvent
from embudo.dedupe.models import LeadKey, ScanState
from embudo.leads.models import Company, Lead, LeadScoreRank, OwnerLoad

pytestmark = pytest.mark.django_db

SHAPE = {"name", "date", "machine", "versions", "parameters", "figures"}


def test_bench_seed_then_pages_write_their_results(tmp_path: Path) -> None:
    out = StringIO()
    call_command(
        "bench", "seed", "--leads", "500", "--companies", "60", "--events-per-lead", "4",
        "--output-dir", str(tmp_path), stdout=out,
    )  # fmt: skip

    seed_result = json.loads((tmp_path / "seed.json").read_text())
    assert set(seed_result) >= SHAPE
    assert seed_result["name"] == "seed"
    assert {"cpus", "memory", "platform", "python"} <= set(seed_result["machine"])
    assert {"embudo", "django", "postgresql"} <= set(seed_result["versions"])
    assert seed_result["parameters"]["leads"] == 500
    assert {"leads", "companies", "events", "seconds", "rows_per_s"} <= set(seed_result["figures"])
    assert seed_result["figures"]["leads"] == Lead.objects.count() == 500
    assert Company.objects.count() == 60
    emails = list(Lead.objects.annotate(e=Lower("email")).values_list("e", flat=True))
    assert len(set(emails)) == len(emails) == 500
    assert DomainEvent.objects.filter(type="leads.LeadCreated").count() == 500
    assert DomainEvent.objects.count() == seed_result["figures"]["events"]
    assert User.objects.filter(email="lucia@embudo.demo", role="sales_rep").exists()
    assert Lead.objects.filter(owner__isnull=True).exists()
    assert "leads" in out.getvalue()
    # What the leads' storage triggers keep, filled although the seed's COPY ran with triggers off.
    assert dict(LeadScoreRank.objects.values_list("lead_id", "score")) == dict(Lead.objects.values_list("id", "score"))
    open_by_owner = Counter(Lead.objects.filter(is_open=True, owner__isnull=False).values_list("owner_id", flat=True))
    assert dict(OwnerLoad.objects.values_list("user_id", "open_leads")) == dict(open_by_owner) != {}

    # The fuzzy matcher's key index covers every seeded lead, as after an import's follow-up job.
    keyed = set(LeadKey.objects.values_list("lead_id", flat=True).distinct())
    assert keyed == set(Lead.objects.values_list("id", flat=True))
    assert seed_result["figures"]["dedupe_keys"] == LeadKey.objects.count() > 500

    # Topping up to the same size adds nothing.
    call_command(
        "bench", "seed", "--leads", "500", "--companies", "60", "--output-dir", str(tmp_path), stdout=StringIO()
    )
    assert Lead.objects.count() == 500

    out = StringIO()
    call_command(
        "bench", "pages", "--requests", "5", "--warmup", "1", "--min-leads", "500",
        "--output-dir", str(tmp_path), stdout=out,
    )  # fmt: skip

    pages = json.loads((tmp_path / "pages.json").read_text())
    assert set(pages) >= SHAPE
    for key in ("lead_list_p95_ms", "search_p95_ms", "lead_page_p95_ms"):
        assert pages["figures"][key] > 0
    assert {s["scenario"] for s in pages["scenarios"]} >= {"lead list · rep", "search · admin", "lead page · rep"}
    assert all(s["statuses"] == [200] for s in pages["scenarios"])
    assert "Limit" in pages["explain"]["rep_list"]["plan"]
    assert "EXPLAIN" in out.getvalue()


def test_bench_seed_reset_rebuilds_the_key_index_for_the_new_leads(tmp_path: Path) -> None:
    call_command("bench", "seed", "--leads", "40", "--companies", "10", "--output-dir", str(tmp_path),
                 stdout=StringIO())  # fmt: skip
    call_command("bench", "seed", "--leads", "30", "--companies", "10", "--events-per-lead", "2", "--reset",
                 "--output-dir", str(tmp_path), stdout=StringIO())  # fmt: skip

    # Ids restart at 1 after a reset: no key of the 40 truncated leads may be left (leads 31-40 are gone), and
    # the index position starts again, so every new lead is filed.
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    assert len(leads) == 30
    keyed = set(LeadKey.objects.values_list("key", "lead_id"))
    assert {lead_id for _key, lead_id in keyed} == set(leads)
    assert ScanState.objects.get(name="keys").last_lead_id == max(leads)


def test_bench_pages_refuses_an_unseeded_database(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="bench seed"):
        call_command("bench", "pages", "--min-leads", "10", "--output-dir", str(tmp_path), stdout=StringIO())


def test_percentile_is_nearest_rank() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert (percentile(samples, 0.5), percentile(samples, 0.95), percentile(samples, 1.0)) == (50.0, 95.0, 100.0)
