"""The replays of the production candidate rules (``domain.evaluate``) against the real SQL.

The intake and scan recall figures of ``bench dedupe-leads`` / ``bench dedupe`` come from these
replays, so they must pick the very candidates the database does.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import connection

from embudo.bench import dedupe_leads
from embudo.core import clock
from embudo.dedupe import selectors, services
from embudo.dedupe.domain import evaluate
from embudo.dedupe.domain.compare import REVIEW, Record, prepare
from embudo.dedupe.models import DuplicateCandidate, LeadKey
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


def _store(records: list[Record]) -> tuple[list[Record], list[int]]:
    """Insert the records in order (emails taken already are blanked: one lead per address)."""
    seen: set[str] = set()
    kept = []
    for r in records:
        email = r.email if r.email.lower() not in seen else ""
        seen.add(r.email.lower())
        kept.append(replace(r, email=email))
    fields = [f for f in selectors.RECORD_FIELDS if f != "id"]
    now = clock.now()
    leads = Lead.objects.bulk_create(
        [Lead(**{f: getattr(r, f) for f in fields}, created_at=now, updated_at=now) for r in kept]
    )
    return kept, [lead.pk for lead in leads]


def test_scan_replay_queues_the_pairs_the_scan_queues() -> None:
    data = dedupe_leads.generate(seed=11, people=150)
    records, ids = _store(data.records)
    services.scan(since_id=0)
    queued = set(DuplicateCandidate.objects.values_list("lead_a_id", "lead_b_id"))
    replay = evaluate.evaluate_scan(records, data.truth, per_record=services.SCAN_PER_LEAD,
                                    max_block_size=services.SCAN_BLOCK_SIZE)  # fmt: skip
    by_record = {r.id: lead_id for r, lead_id in zip(records, ids, strict=True)}
    expected = {tuple(sorted((by_record[a], by_record[b]))) for (a, b), s in replay.scores.items() if s >= REVIEW}
    assert queued and queued == expected


def test_intake_replay_picks_the_candidates_the_lookup_query_returns() -> None:
    data = dedupe_leads.generate(seed=12, people=150)
    records, ids = _store(data.records)
    services.build_key_index(since_id=0)
    ranked = evaluate.ranked_candidates([prepare(r) for r in records], per_record=selectors.INTAKE_CANDIDATES,
                                        max_block_size=selectors.MAX_BLOCK_SIZE)  # fmt: skip
    checked = 0
    for i in range(len(records) - 1, 0, -7):
        keys = selectors.lead_keys({f: getattr(records[i], f) for f in selectors.RECORD_FIELDS if f != "id"})
        rows = selectors.find_candidates_by_keys(keys, exclude_ids=tuple(ids[i:]), limit=selectors.INTAKE_CANDIDATES)
        assert [row["id"] for row in rows] == [ids[j] for j, _shared in ranked[i]]
        checked += bool(rows)
    assert checked > 5


def test_find_fuzzy_match_is_one_query_and_finds_a_stored_duplicate(django_assert_num_queries) -> None:
    data = dedupe_leads.generate(seed=13, people=60)
    records, _ids = _store(data.records)
    services.build_key_index(since_id=0)
    original = records[0]
    incoming = {"first_name": original.first_name.upper(), "last_name": original.last_name,
                "phone": original.phone, "city": original.city, "postal_code": original.postal_code}  # fmt: skip
    stats = selectors.Scored()
    with django_assert_num_queries(1):
        match = services.find_fuzzy_match(incoming, stats=stats)
    assert match is not None and match.lead_id == Lead.objects.order_by("pk").values_list("pk", flat=True)[0]
    assert stats.candidates <= selectors.INTAKE_CANDIDATES and stats.compared <= stats.candidates


def test_keys_of_leads_deleted_in_bulk_are_removed_and_never_crowd_the_lookup() -> None:
    data = dedupe_leads.generate(seed=14, people=40)
    records, ids = _store(data.records)
    services.build_key_index(since_id=0)
    keys = selectors.lead_keys({f: getattr(records[0], f) for f in selectors.RECORD_FIELDS if f != "id"})
    with connection.cursor() as cursor:  # a bulk delete that bypasses the lead services
        cursor.execute("DELETE FROM leads_lead WHERE id = %s", [ids[0]])
    assert ids[0] not in [row["id"] for row in selectors.find_candidates_by_keys(keys)]
    assert services.remove_keys_of_deleted_leads() > 0
    assert not LeadKey.objects.filter(lead_id=ids[0]).exists()
    assert services.remove_keys_of_deleted_leads() == 0
