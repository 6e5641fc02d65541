"""Merge and un-merge (exact restoration), fuzzy matching at intake, the review queue and the scan."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.capture import services as capture_services
from embudo.capture.models import ConsentRecord, LeadAttribution, Submission
from embudo.core.models import DomainEvent
from embudo.dedupe import exceptions, selectors, services
from embudo.dedupe.models import CandidateStatus, DuplicateCandidate, Merge, ScanState
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fuzzy_matching_at_intake(settings: Any) -> None:
    settings.DEDUPE_FUZZY_AT_INTAKE = True


def intake(payload: dict[str, Any]) -> capture_services.IntakeResult:
    return capture_services.capture(channel="api", payload=payload, meta=capture_services.SubmissionMeta())


def lead_columns(lead_id: int) -> dict[str, Any]:
    row = Lead.objects.filter(pk=lead_id).values().first()
    assert row is not None
    return dict(row)


def related_ids(lead_id: int) -> dict[str, Any]:
    return {
        "events": sorted(
            DomainEvent.objects.filter(lead_id=lead_id).exclude(type__startswith="dedupe.").values_list("id", flat=True)
        ),  # fmt: skip
        "submissions": sorted(Submission.objects.filter(lead_id=lead_id).values_list("id", flat=True)),
        "consents": sorted(ConsentRecord.objects.filter(lead_id=lead_id).values_list("id", flat=True)),
        "attribution": LeadAttribution.objects.filter(lead_id=lead_id).values().first(),
    }


def two_people() -> tuple[int, int]:
    a = intake({"email": "maria.garcia@acme.es", "first_name": "María", "last_name": "García", "phone": "+34600111222",
                "city": "Madrid", "utm_source": "ads", "consent": True})  # fmt: skip
    b = intake({"email": "mgarcia@gmail.com", "first_name": "Maria", "last_name": "Garcia Lopez",
                "job_title": "CTO", "utm_source": "newsletter", "custom_fields": {"plan": "pro"}})  # fmt: skip
    assert a.lead_id and b.lead_id and a.lead_id != b.lead_id
    return a.lead_id, b.lead_id


def test_unmerge_restores_both_leads_and_their_rows_exactly() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    survivor_id, merged_id = two_people()
    before = {i: (lead_columns(i), related_ids(i)) for i in (survivor_id, merged_id)}

    merge = services.merge_leads(actor=admin, survivor_id=survivor_id, merged_id=merged_id,
                                 field_choices={"email": "merged", "job_title": "merged"})  # fmt: skip

    assert not Lead.objects.filter(pk=merged_id).exists()
    survivor = Lead.objects.get(pk=survivor_id)
    assert survivor.email == "mgarcia@gmail.com" and survivor.job_title == "CTO" and survivor.city == "Madrid"
    assert set(before[merged_id][1]["events"]) <= set(related_ids(survivor_id)["events"])
    assert DomainEvent.objects.filter(lead_id=survivor_id, type="dedupe.LeadsMerged").count() == 1
    assert merge.moved and merge.merged_snapshot["email"] == "mgarcia@gmail.com"

    services.unmerge(actor=admin, merge_id=merge.pk)

    after = {i: (lead_columns(i), related_ids(i)) for i in (survivor_id, merged_id)}
    assert after == before
    assert DomainEvent.objects.filter(type="dedupe.MergeUndone").count() == 2
    with pytest.raises(exceptions.MergeConflict):
        services.unmerge(actor=admin, merge_id=merge.pk)


def test_merge_defaults_keep_known_values_and_move_every_row() -> None:
    manager = UserFactory.create(role=Role.MARKETING)
    survivor_id, merged_id = two_people()
    merged_events = related_ids(merged_id)["events"]

    services.merge_leads(actor=manager, survivor_id=survivor_id, merged_id=merged_id)

    survivor = Lead.objects.get(pk=survivor_id)
    assert survivor.job_title == "CTO"  # empty on the survivor: the known value wins
    assert survivor.custom_fields == {"plan": "pro"}
    assert LeadAttribution.objects.filter(lead_id=merged_id).count() == 0
    assert set(merged_events) <= set(DomainEvent.objects.filter(lead_id=survivor_id).values_list("id", flat=True))


def test_reps_cannot_merge_and_a_lead_cannot_merge_into_itself() -> None:
    survivor_id, merged_id = two_people()
    with pytest.raises(exceptions.NotAllowedToMerge):
        services.merge_leads(actor=UserFactory.create(role=Role.SALES_REP), survivor_id=survivor_id,
                             merged_id=merged_id)  # fmt: skip
    with pytest.raises(exceptions.InvalidMerge):
        services.merge_leads(actor=None, survivor_id=survivor_id, merged_id=survivor_id)
    with pytest.raises(exceptions.InvalidMerge):
        services.merge_leads(actor=None, survivor_id=survivor_id, merged_id=merged_id, field_choices={"id": "merged"})


def test_intake_queues_a_likely_duplicate_for_review() -> None:
    first = intake({"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez Martín",
                    "company_name": "Acme S.L.", "city": "Sevilla"})  # fmt: skip
    second = intake({"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin",
                     "company_name": "ACME", "city": "Sevilla"})  # fmt: skip
    assert first.lead_id and second.lead_id
    match = services.find_fuzzy_match({"first_name": "Pepe", "last_name": "Pérez Martín", "email": "pepe@x.org",
                                       "city": "Sevilla", "company_name": "Acme"},
                                      exclude_ids=())  # fmt: skip
    assert match is not None
    if second.lead_id != first.lead_id:  # queued for review (or merged outright when the score is that high)
        candidate = DuplicateCandidate.objects.get()
        assert (candidate.lead_a_id, candidate.lead_b_id) == (first.lead_id, second.lead_id)
        assert candidate.reasons and candidate.status == CandidateStatus.OPEN


def test_unrelated_people_are_not_candidates() -> None:
    intake({"email": "ana@one.example", "first_name": "Ana", "last_name": "Torres"})
    intake({"email": "bob@two.example", "first_name": "Robert", "last_name": "Smith"})
    assert DuplicateCandidate.objects.count() == 0
    assert services.find_fuzzy_match({"first_name": "Zoe", "last_name": "Quincy"}) is None


def test_merging_a_candidate_closes_it_and_undo_reopens_it() -> None:
    admin = UserFactory.create(role=Role.MANAGER)
    admin.role = Role.ADMIN
    survivor_id, merged_id = two_people()
    services.record_candidate(lead_id=merged_id, other_id=survivor_id, score=0.8, reasons=[])
    candidate = DuplicateCandidate.objects.get()
    assert [q.candidate.pk for q in selectors.list_queue_visible_to(admin)] == [candidate.pk]

    merge = services.merge_candidate(actor=admin, candidate_id=candidate.pk, survivor_id=survivor_id)

    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED and merge.candidate_id == candidate.pk
    assert selectors.list_queue_visible_to(admin) == []
    services.unmerge(actor=admin, merge_id=merge.pk)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN


def test_dismissed_pairs_leave_the_queue() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    a, b = two_people()
    services.record_candidate(lead_id=a, other_id=b, score=0.7, reasons=[])
    services.record_candidate(lead_id=b, other_id=a, score=0.9, reasons=[])  # same pair: ignored
    candidate = DuplicateCandidate.objects.get()
    services.dismiss_candidate(actor=admin, candidate_id=candidate.pk)
    assert selectors.list_queue_visible_to(admin) == []
    with pytest.raises(exceptions.MergeConflict):
        services.dismiss_candidate(actor=admin, candidate_id=candidate.pk)


def test_scan_is_incremental_and_reports_progress() -> None:
    for i in range(3):
        intake({"email": f"solo{i}@example.org", "first_name": f"Unique{i}x", "last_name": f"Person{i}q"})
    calls: list[tuple[int, int]] = []
    result = services.scan(batch=2, progress=lambda done, total: calls.append((done, total)))
    assert result.scanned == 3 and calls == [(2, 3), (3, 3)]
    assert ScanState.objects.get(name=services.SCAN_NAME).last_lead_id == Lead.objects.order_by("-pk").first().pk  # type: ignore[union-attr]
    assert services.scan().scanned == 0
    assert Merge.objects.count() == 0


def test_fuzzy_matching_at_intake_is_off_unless_enabled(settings: Any) -> None:
    settings.DEDUPE_FUZZY_AT_INTAKE = False
    intake({"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez Martín", "city": "Sevilla"})
    intake({"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin", "city": "Sevilla"})
    assert Lead.objects.count() == 2
    assert not DuplicateCandidate.objects.exists()


def test_dedupe_scan_command_queues_the_duplicates_the_intake_did_not_match(settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.DEDUPE_FUZZY_AT_INTAKE = False
    first = intake({"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez Martín",
                    "company_name": "Acme S.L.", "city": "Sevilla", "phone": "+34600111222"})  # fmt: skip
    second = intake({"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin",
                     "company_name": "ACME", "city": "Sevilla", "phone": "+34 600 111 223"})  # fmt: skip
    out = StringIO()

    call_command("dedupe", "scan", "--batch", "1", stdout=out)

    assert "Scanned 2 leads" in out.getvalue() and "2/2 leads" in out.getvalue()
    candidate = DuplicateCandidate.objects.get()
    assert {candidate.lead_a_id, candidate.lead_b_id} == {first.lead_id, second.lead_id}
    call_command("dedupe", "scan", stdout=StringIO())  # incremental: nothing new, nothing queued twice
    assert DuplicateCandidate.objects.count() == 1


def test_an_automatic_merge_at_intake_is_recorded_and_can_be_undone(settings: Any) -> None:
    settings.DEDUPE_FUZZY_AT_INTAKE = False
    first = intake({"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez Martín",
                    "company_name": "Acme S.L.", "city": "Sevilla", "phone": "+34600111222"})  # fmt: skip
    second = intake({"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin",
                     "company_name": "ACME", "city": "Sevilla", "postal_code": "41001"})  # fmt: skip
    assert first.lead_id and second.lead_id and first.lead_id != second.lead_id
    before = {lead_id: lead_columns(lead_id) for lead_id in (first.lead_id, second.lead_id)}
    moved = related_ids(second.lead_id)

    merge = services.merge_at_intake(lead_id=second.lead_id, into_id=first.lead_id, score=0.995,
                                     reasons=[{"field": "last_name", "similarity": 1.0, "weight": 5.0}])  # fmt: skip

    assert merge.automatic and merge.actor is None and merge.survivor_id == first.lead_id
    assert merge.candidate_id is not None
    assert not Lead.objects.filter(pk=second.lead_id).exists()
    candidate = DuplicateCandidate.objects.get(pk=merge.candidate_id)
    assert candidate.status == CandidateStatus.MERGED and candidate.score == 0.995
    services.unmerge(actor=None, merge_id=merge.pk)
    assert {lead_id: lead_columns(lead_id) for lead_id in before} == before
    assert related_ids(second.lead_id) == moved
