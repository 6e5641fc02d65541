from __future__ import annotations

from embudo.pipeline import bench, demo
from embudo.pipeline.models import Deal, StageTotal
from embudo.pipeline.tests.conftest import World


def test_demo_and_bench_data_are_idempotent(world: World) -> None:
    won = world.lead(owner=world.rep, outcome="won")
    lost = world.lead(owner=world.rep, outcome="lost", outcome_reason="No budget")
    for _ in range(20):
        world.lead(owner=world.rep)
    world.lead(owner=None)
    demo.seed_demo(teams={}, users={})
    demo.seed_demo(teams={}, users={})
    assert Deal.objects.count() == 22
    assert Deal.objects.get(lead=won).stage.key == "won"
    assert Deal.objects.get(lead=lost).lost_reason == "No budget"
    assert sum(t.deals for t in StageTotal.objects.all()) == 22
    Deal.objects.all().delete()
    assert bench.ensure_bench_deals() == 22
    assert bench.ensure_bench_deals() == 22
    keys = set(Deal.objects.values_list("stage__key", flat=True))
    assert "new" in keys and Deal.objects.filter(closed_at__isnull=False).count() <= 22
    assert bench.board_urls(world.manager)[0] == "/pipeline/" and bench.extra_urls()
