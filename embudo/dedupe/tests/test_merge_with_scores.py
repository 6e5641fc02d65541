"""Merging leads that scoring, routing and SLAs already know: the survivor keeps one consistent score
(score = ledger sum) and undo restores both."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture import services as capture_services
from embudo.dedupe import services
from embudo.leads.models import Lead
from embudo.scoring import services as scoring_services
from embudo.scoring.models import ScoreContribution, ScoreEntry

pytestmark = pytest.mark.django_db

RULES: list[dict[str, Any]] = [
    {
        "kind": "fit",
        "label": "Spain",
        "points": 20,
        "conditions": [{"field": "country", "op": "equals", "value": "ES"}],
    },  # fmt: skip
    {
        "kind": "fit",
        "label": "Director",
        "points": 40,
        "conditions": [{"field": "job_title", "op": "contains", "value": ["director"]}],
    },  # fmt: skip
]


def ledger_sum(lead_id: int) -> int:
    return int(ScoreEntry.objects.filter(lead_id=lead_id).aggregate(s=Sum("points"))["s"] or 0)


def test_merging_two_scored_leads_keeps_score_equal_to_the_ledger_and_undo_restores_both() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    draft = scoring_services.create_draft(actor=None)
    scoring_services.update_draft(draft.pk, actor=None, rules=RULES)
    scoring_services.publish(draft.pk, actor=None, rescore="now")
    meta = capture_services.SubmissionMeta()
    a = capture_services.capture(channel="api", payload={"email": "ana@acme.es", "first_name": "Ana", "country": "ES"},
                                 meta=meta).lead_id  # fmt: skip
    b = capture_services.capture(channel="api", payload={"email": "ana.d@gmail.com", "first_name": "Ana",
                                 "country": "ES", "job_title": "Directora de IT"}, meta=meta).lead_id  # fmt: skip
    assert a and b
    before = {i: (Lead.objects.get(pk=i).score, ledger_sum(i)) for i in (a, b)}
    assert before[a] == (20, 20) and before[b] == (60, 60)

    merge = services.merge_leads(actor=admin, survivor_id=a, merged_id=b, field_choices={"job_title": "merged"})

    survivor = Lead.objects.get(pk=a)
    assert survivor.score == ledger_sum(a)
    # The merged lead's ledger stays under its id (not double-counted on the survivor), for an undo.
    assert ScoreContribution.objects.filter(lead_id=b).count() == 2 and ledger_sum(b) == 60
    scoring_services.score_leads([a], cause="dedupe.LeadsMerged")  # what the merge's event job does
    survivor.refresh_from_db()
    assert survivor.score == ledger_sum(a) == 60  # Spain + the director title it took from the merged lead

    services.unmerge(actor=admin, merge_id=merge.pk)
    after = {i: (Lead.objects.get(pk=i).score, ledger_sum(i)) for i in (a, b)}
    assert after[b] == before[b]
    assert after[a][0] == after[a][1]


def test_merging_two_leads_with_open_clocks_of_one_policy_keeps_the_survivors() -> None:
    from embudo.accounts.tests.factories import TeamFactory
    from embudo.sla import demo as sla_demo
    from embudo.sla import services as sla_services
    from embudo.sla.models import SlaClock

    team = TeamFactory.create(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    rep = UserFactory.create(teams=[team])
    admin = UserFactory.create(role=Role.ADMIN)
    sla_demo.seed_demo(teams={"Iberia": team}, users={rep.email: rep, admin.email: admin})
    meta = capture_services.SubmissionMeta()
    results = [capture_services.capture(channel="api", payload={"email": e, "first_name": "Ana"}, meta=meta)
               for e in ("ana@acme.es", "ana.d@gmail.com")]  # fmt: skip
    ids = [int(r.lead_id or 0) for r in results]
    a, b = ids
    assert a and b
    Lead.objects.filter(pk__in=ids).update(owner=rep, team=team)
    for lead_id in ids:
        sla_services.start_clocks(lead_id=lead_id, trigger="assigned")
    assert SlaClock.objects.filter(lead_id__in=ids, status="open").count() == 2

    services.merge_leads(actor=admin, survivor_id=a, merged_id=b)

    assert list(SlaClock.objects.filter(status="open").values_list("lead_id", flat=True)) == [a]
    assert SlaClock.objects.filter(status="cancelled", lead_id=a).count() == 1  # moved with the merge
