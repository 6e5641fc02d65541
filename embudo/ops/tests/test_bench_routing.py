"""Tiny runs of the routing benchmarks (speed-to-lead, routing-fairness): they work, write their JSON and leave
the database as they found it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from embudo.leads.models import Lead, OwnerLoad
from embudo.ops.tests.test_bench_intake import _figures, database_url
from embudo.routing.models import RuleSet

__all__ = ["database_url"]  # the fixture, for the server subprocess


@pytest.mark.django_db(transaction=True)
def test_bench_speed_to_lead_small(tmp_path: Path, database_url: str) -> None:
    call_command("bench", "speed-to-lead", "--seconds", "2", "--rate", "10", "--clients", "2", "--floor-seconds", "1",
                 "--output-dir", str(tmp_path), stdout=StringIO())  # fmt: skip
    figures = _figures(tmp_path, "speed-to-lead")
    assert figures["leads"] == figures["assigned"] == 20 and figures["failed"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["phases"]["assign_p50_ms"] > 0
    assert figures["cpu_ms_per_lead"]["total"] > 0 and figures["cpu_budget_ms_per_lead"] > 0
    assert figures["floor"]["requests_per_s"] > 0
    # Sampled three times (the client process may still be starting at the first sample of so short a run).
    assert len(figures["connections_per_worker"]) == 3 and sum(figures["connections_per_worker"][-1]) <= 2
    # Cleaned up: no lead, no open-lead count left, the benchmark's rule set unpublished.
    assert Lead.objects.count() == 0
    assert not OwnerLoad.objects.filter(open_leads__gt=0).exists()
    assert not RuleSet.objects.filter(status="published").exists()


@pytest.mark.django_db(transaction=True)
def test_bench_routing_fairness_small(tmp_path: Path) -> None:
    call_command("bench", "routing-fairness", "--assignments", "300", "--threads", "2",
                 "--output-dir", str(tmp_path), stdout=StringIO())  # fmt: skip
    figures = _figures(tmp_path, "routing-fairness")
    assert figures["assignments"] == 300 and figures["unassigned"] == 0
    assert figures["stored_counts_match"] is True
    assert figures["max_deviation_picks"] <= 2


@pytest.mark.django_db
def test_a_rule_set_left_published_by_a_killed_run_is_removed_before_the_next_one() -> None:
    from embudo.bench import routing

    pools = routing.ensure_pools(routing.ensure_reps())
    leftover, _ = routing.publish_bench_rules(pools)  # a run killed before its restore_rules
    bench_rule_set, previous = routing.publish_bench_rules(pools)  # the next run
    assert previous is None  # not the leftover, which its restore_rules would publish again
    assert not RuleSet.objects.filter(pk=leftover).exists()
    routing.restore_rules(bench_rule_set, previous)
    assert routing.published_rule_sets() == []
    # A benchmark that does not route (intake-api, intake-batch) removes one too.
    routing.publish_bench_rules(pools)
    assert routing.remove_leftover_bench_rules() == 1 and routing.published_rule_sets() == []
