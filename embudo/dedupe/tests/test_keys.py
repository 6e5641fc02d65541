"""The blocking-key index: kept in sync with leads, used for candidate retrieval, rebuilt in bulk."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.dedupe import selectors, services
from embudo.dedupe.models import LeadKey
from embudo.leads import services as leads_services
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


def stored_keys(lead_id: int) -> set[int]:
    return set(LeadKey.objects.filter(lead_id=lead_id).values_list("key", flat=True))


def expected_keys(lead_id: int) -> set[int]:
    values = Lead.objects.filter(pk=lead_id).values(*selectors.RECORD_FIELDS).get()
    return set(selectors.lead_keys(values))


def create(**data: Any) -> int:
    return leads_services.create_lead(actor=None, data=data).pk


def test_key_hash_is_stable_and_signed_64_bit() -> None:
    assert selectors.key_hash("n:gar:j") == selectors.key_hash("n:gar:j")
    assert selectors.key_hash("n:gar:j") != selectors.key_hash("n:gar:m")
    assert all(-(2**63) <= selectors.key_hash(k) < 2**63 for k in ("", "e:a@b.c", "ph:grs:xs"))


def test_creating_and_updating_a_lead_keeps_its_keys_in_sync() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    lead_id = create(first_name="María", last_name="García", email="maria@acme.es", city="Madrid")
    assert stored_keys(lead_id) and stored_keys(lead_id) == expected_keys(lead_id)
    before = stored_keys(lead_id)
    leads_services.update_lead(actor=admin, lead_id=lead_id, changes={"last_name": "Jiménez", "phone": "+34600111222"})
    assert stored_keys(lead_id) == expected_keys(lead_id) != before


def test_intake_indexes_new_leads_and_changed_ones() -> None:
    from embudo.capture import services as capture_services

    def intake(payload: dict[str, Any]) -> int:
        result = capture_services.capture(channel="api", payload=payload, meta=capture_services.SubmissionMeta())
        assert result.lead_id
        return result.lead_id

    lead_id = intake({"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez"})
    assert stored_keys(lead_id) == expected_keys(lead_id)
    assert intake({"email": "jose.perez@acme.es", "phone": "+34600999888", "city": "Sevilla"}) == lead_id
    assert stored_keys(lead_id) == expected_keys(lead_id)
    assert selectors.key_hash("p:600999888") in stored_keys(lead_id) or len(stored_keys(lead_id)) > 3


def test_lookup_ranks_leads_by_shared_keys_and_skips_huge_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    target = create(first_name="Lucía", last_name="Fernández Ruiz", email="lucia.fr@acme.es", postal_code="41001",
                    city="Sevilla")  # fmt: skip
    other = create(first_name="Luis", last_name="Fernández", city="Bilbao")
    rows = selectors.find_candidates({"first_name": "Lucia", "last_name": "Fernandez Ruiz", "postal_code": "41001",
                                      "city": "Sevilla", "email": "lfr@gmail.com"})  # fmt: skip
    assert [r["id"] for r in rows][:1] == [target]
    assert {r["id"] for r in rows} <= {target, other}
    assert selectors.find_candidates({"first_name": "Lucia", "last_name": "Fernandez Ruiz"},
                                     exclude_ids=(target, other)) == []  # fmt: skip
    # With every block "too common", nothing is fetched.
    monkeypatch.setattr(selectors, "MAX_BLOCK_SIZE", 1)
    assert selectors.find_candidates({"first_name": "Lucia", "last_name": "Fernandez Ruiz"}) == []


def test_merge_drops_the_merged_leads_keys_and_unmerge_restores_them() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    survivor = create(first_name="Ana", last_name="Torres", email="ana@uno.example")
    merged = create(first_name="Ana", last_name="Torres Gil", phone="+34611222333", city="Cádiz")
    merged_keys = stored_keys(merged)
    merge = services.merge_leads(actor=admin, survivor_id=survivor, merged_id=merged)
    assert stored_keys(merged) == set()
    assert stored_keys(survivor) == expected_keys(survivor)
    services.unmerge(actor=admin, merge_id=merge.pk)
    assert stored_keys(merged) == merged_keys
    assert stored_keys(survivor) == expected_keys(survivor)


def test_build_key_index_fills_bulk_written_leads_and_is_idempotent() -> None:
    ids = [create(first_name=f"Nombre{i}", last_name=f"Apellido{i}", email=f"p{i}@example.org") for i in range(5)]
    LeadKey.objects.all().delete()  # as after a bulk import that bypassed the services
    calls: list[tuple[int, int]] = []
    result = services.build_key_index(batch=2, progress=lambda done, total: calls.append((done, total)))
    assert result.leads == 5 and calls[-1] == (5, 5)
    assert all(stored_keys(i) == expected_keys(i) for i in ids)
    count = LeadKey.objects.count()
    assert result.keys == count
    assert services.build_key_index().leads == 0  # incremental: nothing new
    assert services.build_key_index(since_id=0).keys == count  # a rebuild does not duplicate
    assert LeadKey.objects.count() == count


def test_scan_pairs_leads_sharing_keys_once_from_the_newer_lead() -> None:
    older = create(first_name="Lucía", last_name="Fernández Ruiz", phone="+34611000111", city="Sevilla",
                   postal_code="41001")  # fmt: skip
    create(first_name="Roberto", last_name="Quintana", email="rq@example.org")
    newer = create(first_name="Lucia", last_name="Fernandez Ruiz", phone="+34611000111", city="Sevilla")
    result = services.scan(batch=2)
    assert result.scanned == 3
    assert result.candidates >= 1
    from embudo.dedupe.models import DuplicateCandidate

    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id) == (older, newer) and pair.reasons
    assert services.scan(since_id=0).candidates >= 1  # re-run: the pair is not duplicated
    assert DuplicateCandidate.objects.count() == 1


def test_scan_indexes_leads_written_in_bulk_first() -> None:
    a = create(first_name="Marta", last_name="Soler Vidal", phone="+34622000333")
    b = create(first_name="Marta", last_name="Soler Vidal", phone="+34622000333", city="Girona")
    LeadKey.objects.all().delete()
    assert services.scan().scanned == 2
    assert stored_keys(a) == expected_keys(a) and stored_keys(b) == expected_keys(b)
