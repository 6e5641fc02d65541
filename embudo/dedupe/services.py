"""Writes of the dedupe context: fuzzy matching at intake, the review queue, merge and un-merge, the scan.

Merged-lead representation: a merge snapshots every column of both lead rows (and every row of any
table keyed one-to-one by lead id), re-points every row carrying the merged lead's id to the survivor
(recording the ids per table), then **deletes** the merged lead's row. Un-merge restores the
survivor's changed columns, re-inserts the merged row with the same id from its snapshot and moves the
recorded rows back. Deleting (instead of a ``merged_into`` flag) means no selector anywhere can show a
merged lead by mistake, and the snapshot is the single source of truth for the undo. The Lead row
writes themselves (lock, delete, column updates, re-insert) are ``leads.services``' merge-support
functions; the default field choices are the pure ``dedupe.domain.survivorship``.

Locking: both leads are locked ``FOR UPDATE`` in id order (no deadlock between two merges of the same
pair); intake takes a transaction-level advisory lock on the E.164 phone before its exact-key match, so
two simultaneous submissions with one phone (and no email) make one lead (email has a unique index).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction

from embudo.accounts.models import User
from embudo.core import clock
from embudo.core import events as core_events
from embudo.dedupe import exceptions
from embudo.dedupe import selectors as matching
from embudo.dedupe.domain import survivorship
from embudo.dedupe.events import LeadsMerged, MergeUndone
from embudo.dedupe.models import CandidateStatus, DuplicateCandidate, LeadKey, Merge, ScanState
from embudo.leads import selectors as leads_selectors
from embudo.leads import services as leads_services
from embudo.leads.models import Lead
from embudo.pipeline import services as pipeline_services
from embudo.sla import services as sla_services

logger = logging.getLogger(__name__)

MANAGING_ROLES = frozenset({"admin", "manager", "marketing"})
# The survivorship policy lives in the domain (pure, property-tested); these names stay for callers.
MERGE_FIELDS = survivorship.MERGE_FIELDS
SOURCE_TRUST = survivorship.SOURCE_TRUST
default_choices = survivorship.default_choices
_DEDUPE_TABLES = ("dedupe_duplicatecandidate", "dedupe_merge", "dedupe_scanstate", "dedupe_leadkey")
# Derived state a merge does not move: the survivor is rescored from its (now larger) history by the
# LeadsMerged event's job, and the merged lead's ledger stays under its id, so an undo restores a lead
# whose stored score still equals its ledger.
_NOT_MOVED = (
    "scoring_scoreentry",
    "scoring_scorecontribution",
    # One deal per person: pipeline decides which deal survives (hand_over_deal_on_merge), not a blind move.
    "pipeline_deal",
    # A snooze is one rep's "not now" on one lead: the merged lead's goes with it (unique per user and lead).
    "inbox_snooze",
)
_DEAL_KEY = "pipeline.deal"  # Merge.one_to_one entry of the deal handed over by pipeline


def can_manage_duplicates(user: User) -> bool:
    return user.role in MANAGING_ROLES


def _require_manager(user: User) -> None:
    if not can_manage_duplicates(user):
        raise exceptions.NotAllowedToMerge("Only managers, marketing and admins review duplicates.")


# ---------------------------------------------------------------- intake


def lock_match_keys(*, phone: str) -> None:
    """Serialize intake of one phone number until the caller's transaction ends (email has a unique index)."""
    if phone:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"lead-phone:{phone}"])


def lock_match_keys_many(*, phones: Iterable[str]) -> None:
    """``lock_match_keys`` for many phones in one statement, in sorted order (two batches sharing phones
    take them in the same order, so they wait for each other instead of deadlocking)."""
    keys = sorted({f"lead-phone:{p}" for p in phones if p})
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM (SELECT k FROM unnest(%s::text[]) k "
                "ORDER BY k) s",
                [keys],
            )


@dataclass(frozen=True)
class FuzzyMatch:
    lead_id: int
    score: float
    reasons: list[dict[str, Any]]
    auto_merge: bool


def find_fuzzy_match(
    values: Mapping[str, Any], *, exclude_ids: tuple[int, ...] = (), stats: matching.Scored | None = None
) -> FuzzyMatch | None:
    """The best existing lead for normalized ``values`` at or above the review threshold, or None.

    Candidates are the ``selectors.INTAKE_CANDIDATES`` leads sharing the most blocking keys in
    ``dedupe_leadkey`` (one indexed query, ``selectors.find_candidates_by_keys``); the pure matcher
    scores them, skipping those its cheap first pass proves hopeless. ``stats`` (optional) counts the
    candidates fetched and fully compared.
    """
    best = matching.best_match(values, exclude_ids=exclude_ids, stats=stats)
    if best is None:
        return None
    lead_id, result = best
    return FuzzyMatch(lead_id=lead_id, score=result.score, reasons=matching.reasons_json(result),
                      auto_merge=result.score >= matching.thresholds()[0])  # fmt: skip


def find_fuzzy_matches(values_list: Sequence[Mapping[str, Any]]) -> list[FuzzyMatch | None]:
    """``find_fuzzy_match`` for each of ``values_list`` with one candidate query (``selectors.best_matches``)."""
    auto_merge = matching.thresholds()[0]
    return [
        None
        if best is None
        else FuzzyMatch(
            lead_id=best[0],
            score=best[1].score,
            reasons=matching.reasons_json(best[1]),
            auto_merge=best[1].score >= auto_merge,
        )  # fmt: skip
        for best in matching.best_matches(values_list)
    ]


# ---------------------------------------------------------------- blocking-key index


MATCHING_FIELDS = frozenset(matching.RECORD_FIELDS) - {"id"}


def affects_keys(changed: Iterable[str]) -> bool:
    """Whether changing these lead fields may change the lead's blocking keys."""
    return not MATCHING_FIELDS.isdisjoint(changed)


def _write_keys(lead_id: int, keys: list[int], *, new: bool = False) -> None:
    with connection.cursor() as cursor:
        if not new:
            cursor.execute("DELETE FROM dedupe_leadkey WHERE lead_id = %s AND NOT key = ANY(%s::bigint[])",
                           [lead_id, keys])  # fmt: skip
        if keys:
            cursor.execute("INSERT INTO dedupe_leadkey (key, lead_id) SELECT unnest(%s::bigint[]), %s "
                           "ON CONFLICT DO NOTHING", [keys, lead_id])  # fmt: skip


def index_lead(*, lead: Lead, new: bool = False) -> None:
    """File ``lead`` under its current blocking keys (idempotent; stale keys of the lead are removed,
    unless ``new``: a lead just inserted has none).

    Called, in their transaction, by the lead services that create a lead or change its matching fields.
    """
    values = {f: getattr(lead, f) for f in matching.RECORD_FIELDS}
    _write_keys(lead.pk, matching.lead_keys(values), new=new)


def _key_pairs(leads: Sequence[Lead]) -> tuple[list[int], list[int]]:
    """The blocking keys of ``leads`` and, alongside, the lead each belongs to."""
    key_list: list[int] = []
    lead_ids: list[int] = []
    for lead in leads:
        keys = matching.lead_keys({f: getattr(lead, f) for f in matching.RECORD_FIELDS})
        key_list.extend(keys)
        lead_ids.extend([lead.pk] * len(keys))
    return key_list, lead_ids


def index_new_leads(leads: Sequence[Lead], *, pairs: tuple[list[int], list[int]] | None = None) -> None:
    """``index_lead(new=True)`` for many just-inserted leads, in one statement."""
    key_list, lead_ids = pairs if pairs is not None else _key_pairs(leads)
    if key_list:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO dedupe_leadkey (key, lead_id) SELECT * FROM unnest(%s::bigint[], "
                           "%s::bigint[]) ON CONFLICT DO NOTHING", [key_list, lead_ids])  # fmt: skip


def index_leads(leads: Sequence[Lead]) -> None:
    """``index_lead`` for several leads in two statements: drop their stale keys, add the missing ones."""
    if not leads:
        return
    key_list, lead_ids = _key_pairs(leads)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM dedupe_leadkey k WHERE k.lead_id = ANY(%s::bigint[]) AND NOT EXISTS (SELECT 1 FROM "
            "unnest(%s::bigint[], %s::bigint[]) AS u(key, lead_id) WHERE u.key = k.key AND u.lead_id = k.lead_id)",
            [[lead.pk for lead in leads], key_list, lead_ids],
        )
    index_new_leads(leads, pairs=(key_list, lead_ids))


def reindex_lead(*, lead_id: int) -> None:
    """Recompute a lead's blocking keys from its stored row (no keys if the lead no longer exists)."""
    values = Lead.objects.filter(pk=lead_id).values(*matching.RECORD_FIELDS).first()
    _write_keys(lead_id, matching.lead_keys(values) if values is not None else [])


def remove_lead_keys(*, lead_id: int) -> None:
    LeadKey.objects.filter(lead_id=lead_id).delete()


def remove_keys_of_deleted_leads() -> int:
    """Drop the keys of leads deleted without the lead services (bulk deletes, benchmark cleanups); the
    number of keys removed. One anti-join over the key index (seconds at 1M leads): for maintenance."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM dedupe_leadkey k WHERE NOT EXISTS (SELECT 1 FROM leads_lead l WHERE l.id = k.lead_id)"
        )
        return int(cursor.rowcount)


KEYS_NAME = "keys"


@dataclass
class KeyIndexResult:
    leads: int = 0
    keys: int = 0
    last_lead_id: int = 0
    seconds: float = 0.0


def build_key_index(
    *, batch: int = 20_000, since_id: int | None = None, progress: Callable[[int, int], None] | None = None
) -> KeyIndexResult:
    """File every lead after the last indexed id (``ScanState`` "keys") under its blocking keys.

    For leads written in bulk (CSV import, seeding) and the first fill; intake and the lead services
    index their leads as they write them. Set-based: rows are read in id order in batches, keys computed
    in Python and loaded with ``COPY``; each batch first deletes the keys of its leads, so a re-run
    (``since_id=0``) rebuilds instead of duplicating, and the position is saved after each batch.
    A lead updated while its batch is being written may keep the keys of its previous values until it
    is written again.
    """
    t0 = time.perf_counter()
    state, _ = ScanState.objects.get_or_create(name=KEYS_NAME)
    position = state.last_lead_id if since_id is None else since_id
    total = Lead.objects.filter(pk__gt=position).count()
    result = KeyIndexResult(last_lead_id=position)
    columns = ", ".join(matching.RECORD_FIELDS)
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # Two builders (the job and the scan) take turns per batch; re-doing a batch is harmless.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('dedupe.build_key_index'))")
            cursor.execute(f"SELECT {columns} FROM leads_lead WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                           [position, batch])  # fmt: skip
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            cursor.execute("DELETE FROM dedupe_leadkey WHERE lead_id = ANY(%s::bigint[])", [[r[0] for r in rows]])
            written = 0
            with cursor.copy("COPY dedupe_leadkey (key, lead_id) FROM STDIN") as copy:
                for row in rows:
                    values = dict(zip(matching.RECORD_FIELDS, row, strict=True))
                    for key in matching.lead_keys(values):
                        copy.write_row((key, row[0]))
                        written += 1
            position = last
            ScanState.objects.filter(name=KEYS_NAME).update(last_lead_id=position, updated_at=clock.now())
        result.leads += len(rows)
        result.keys += written
        result.last_lead_id = position
        if progress is not None:
            progress(result.leads, total)
    if result.leads >= 10_000:
        # Fresh statistics (and, outside a transaction, a visibility map for index-only scans): without them
        # the planner picks parallel plans that cost the lookup ~10 ms.
        vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{vacuum} dedupe_leadkey")
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def record_candidate(*, lead_id: int, other_id: int, score: float, reasons: list[dict[str, Any]]) -> None:
    """Queue a pair for review (idempotent: a pair already queued or decided is left as it is)."""
    if lead_id == other_id:
        return
    a, b = sorted((lead_id, other_id))
    DuplicateCandidate.objects.bulk_create(
        [DuplicateCandidate(lead_a_id=a, lead_b_id=b, score=round(score, 4), reasons=reasons, created_at=clock.now())],
        ignore_conflicts=True,
    )


def dismiss_candidate(*, actor: User, candidate_id: int) -> DuplicateCandidate:
    """Mark a pair as not a duplicate; it never comes back to the queue."""
    _require_manager(actor)
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None or not _both_visible(actor, candidate.lead_a_id, candidate.lead_b_id):
            raise exceptions.CandidateNotFound("Duplicate not found.")
        if candidate.status != CandidateStatus.OPEN:
            raise exceptions.MergeConflict("This duplicate was already decided.")
        candidate.status, candidate.decided_by, candidate.decided_at = CandidateStatus.DISMISSED, actor, clock.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


def _both_visible(user: User, *lead_ids: int) -> bool:
    ids = set(lead_ids)
    return leads_selectors.leads_visible_to(user).filter(pk__in=ids).count() == len(ids)


# ---------------------------------------------------------------- snapshots


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def snapshot_row(obj: models.Model) -> dict[str, Any]:
    """Every stored column (attname → JSON value) of ``obj``; generated columns are derived, not stored."""
    return {f.attname: _dump(getattr(obj, f.attname)) for f in obj._meta.concrete_fields
            if not isinstance(f, models.GeneratedField)}  # fmt: skip


def _restore_values(model: type[models.Model], data: Mapping[str, Any]) -> dict[str, Any]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return {k: (by_attname[k].to_python(v) if v is not None else None) for k, v in data.items() if k in by_attname}


def _lead_tables() -> list[tuple[type[models.Model], models.Field[Any, Any]]]:
    """Every model (but Lead and dedupe's own) with a ``lead_id`` column: a merge moves their rows."""
    found = []
    for model in apps.get_models():
        if model is Lead or model._meta.db_table in (*_DEDUPE_TABLES, *_NOT_MOVED) or not model._meta.managed:
            continue
        for f in model._meta.concrete_fields:
            if f.attname == "lead_id":
                found.append((model, f))
    return found


# ---------------------------------------------------------------- merge


def merge_leads(
    *,
    actor: User | None,
    survivor_id: int,
    merged_id: int,
    field_choices: Mapping[str, str] | None = None,
    candidate_id: int | None = None,
    automatic: bool = False,
) -> Merge:
    """Merge lead ``merged_id`` into ``survivor_id`` in one transaction and record how to undo it.

    ``field_choices`` maps a field of ``MERGE_FIELDS`` to ``"survivor"`` or ``"merged"`` (missing fields
    follow ``default_choices``). Every row with the merged lead's id moves to the survivor (ids recorded
    per table); tables keyed by lead id keep the survivor's row, combined with the merged one's earlier
    first touch / later last touch, and both originals are snapshotted. The merged row is then deleted.
    Invariant: ``unmerge`` of the result restores both leads and every moved row exactly.
    """
    if actor is not None:
        _require_manager(actor)
    if survivor_id == merged_id:
        raise exceptions.InvalidMerge("A lead cannot be merged into itself.", fields={"merged_id": ["Same lead."]})
    choices_in = field_choices or {}
    bad = sorted(k for k, v in choices_in.items() if k not in MERGE_FIELDS or v not in ("survivor", "merged"))
    if bad:
        message = ["Choose survivor or merged."]
        raise exceptions.InvalidMerge("Unknown fields or choices.", fields=dict.fromkeys(bad, message))
    with transaction.atomic():
        locked = leads_services.lock_leads_for_merge(lead_ids=[survivor_id, merged_id])
        if len(locked) != 2 or (actor is not None and not _both_visible(actor, survivor_id, merged_id)):
            raise exceptions.MergeLeadNotFound("Lead not found (it may have been merged already).")
        survivor, merged = locked[survivor_id], locked[merged_id]
        survivor_snap, merged_snap = snapshot_row(survivor), snapshot_row(merged)
        choices = {**default_choices(survivor_snap, merged_snap), **(field_choices or {})}
        changes: dict[str, list[Any]] = {}
        for name, side in choices.items():
            if side == "merged" and merged_snap[name] != survivor_snap[name]:
                changes[name] = [survivor_snap[name], merged_snap[name]]
        custom = {**(merged.custom_fields or {}), **(survivor.custom_fields or {})}
        if custom != (survivor.custom_fields or {}):
            changes["custom_fields"] = [survivor_snap["custom_fields"], custom]
        if merged.created_at < survivor.created_at:
            changes["created_at"] = [survivor_snap["created_at"], merged_snap["created_at"]]
        # One person, one live commitment per SLA policy: the survivor's open clock keeps timing.
        sla_services.cancel_clocks_taken_over_by_merge(merged_id=merged_id, survivor_id=survivor_id)
        deal = pipeline_services.hand_over_deal_on_merge(merged_id=merged_id, survivor_id=survivor_id)
        moved, one_to_one = _move_rows(merged_id=merged_id, survivor_id=survivor_id)
        if deal is not None:
            one_to_one[_DEAL_KEY] = deal
        # Delete first: the survivor may take the merged lead's email (unique index).
        leads_services.delete_merged_lead(lead_id=merged_id)
        now = clock.now()
        updates = _restore_values(Lead, {k: after for k, (_, after) in changes.items()})
        leads_services.write_merge_values(lead_id=survivor_id, values={**updates, "updated_at": now})
        remove_lead_keys(lead_id=merged_id)
        reindex_lead(lead_id=survivor_id)
        merge = Merge.objects.create(
            survivor_id=survivor_id, merged_id=merged_id, candidate_id=candidate_id, fields=choices, changes=changes,
            merged_snapshot=merged_snap, survivor_snapshot=survivor_snap, moved=moved, one_to_one=one_to_one,
            automatic=automatic, actor=actor, created_at=now,
        )  # fmt: skip
        DuplicateCandidate.objects.filter(
            lead_a_id=min(survivor_id, merged_id), lead_b_id=max(survivor_id, merged_id)
        ).update(status=CandidateStatus.MERGED, decided_by=actor, decided_at=now)
        core_events.publish(LeadsMerged(
            lead_id=survivor_id, actor_id=actor.pk if actor else None, merge_id=merge.pk, merged_id=merged_id,
            changed=sorted(changes), moved={t: len(ids) for t, ids in moved.items()},
        ))  # fmt: skip
    return merge


def _move_rows(*, merged_id: int, survivor_id: int) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    moved: dict[str, list[Any]] = {}
    one_to_one: dict[str, Any] = {}
    for model, _field in _lead_tables():
        table = model._meta.db_table
        manager = model._default_manager
        if model._meta.pk is not None and model._meta.pk.attname == "lead_id":
            rows = {r.pk: r for r in manager.filter(pk__in=[merged_id, survivor_id])}
            m_row, s_row = rows.get(merged_id), rows.get(survivor_id)
            if m_row is None:
                continue
            one_to_one[table] = {"merged": snapshot_row(m_row), "survivor": snapshot_row(s_row) if s_row else None}
            if s_row is None:
                manager.filter(pk=merged_id).update(lead_id=survivor_id)
            else:
                _combine_one_to_one(s_row, m_row)
                manager.filter(pk=merged_id).delete()
            continue
        ids = list(manager.filter(lead_id=merged_id).order_by("pk").values_list("pk", flat=True))
        if ids:
            manager.filter(pk__in=ids).update(lead_id=survivor_id)
            moved[table] = ids
    return moved, one_to_one


def _combine_one_to_one(survivor_row: models.Model, merged_row: models.Model) -> None:
    """For first/last-touch rows: the earlier first touch and the later last touch win."""
    names = [f.attname for f in survivor_row._meta.concrete_fields]
    changed: list[str] = []
    for prefix, earlier in (("first_", True), ("last_", False)):
        at = f"{prefix}at"
        if at not in names:
            continue
        s_at, m_at = getattr(survivor_row, at), getattr(merged_row, at)
        if m_at is not None and (s_at is None or (m_at < s_at if earlier else m_at > s_at)):
            for n in names:
                if n.startswith(prefix):
                    setattr(survivor_row, n, getattr(merged_row, n))
                    changed.append(n)
    if changed:
        survivor_row.save(update_fields=changed)


def unmerge(*, actor: User | None, merge_id: int) -> Merge:
    """Undo a merge exactly: the survivor's changed columns get their values from before the merge, the
    merged lead is re-inserted with its id and every column, and every moved row goes back to it.

    Rows the survivor gained after the merge stay with it. Refused if the merge was undone already or the
    merged lead's email now belongs to a third lead.
    """
    if actor is not None:
        _require_manager(actor)
    with transaction.atomic():
        merge = Merge.objects.select_for_update().filter(pk=merge_id).first()
        if merge is None or (actor is not None and not _both_visible(actor, merge.survivor_id)):
            raise exceptions.MergeNotFound("Merge not found.")
        if merge.undone_at is not None:
            raise exceptions.MergeConflict("This merge was already undone.")
        locked = leads_services.lock_leads_for_merge(lead_ids=[merge.survivor_id, merge.merged_id])
        if merge.survivor_id not in locked:
            raise exceptions.MergeConflict("The surviving lead no longer exists (merged again?); undo that first.")
        if merge.merged_id in locked:  # pragma: no cover - ids are never reused
            raise exceptions.MergeConflict("A lead with the merged lead's id exists.")
        survivor_before = _restore_values(Lead, merge.survivor_snapshot)
        restore = {k: survivor_before[k] for k in merge.changes}
        restore["updated_at"] = survivor_before["updated_at"]
        leads_services.write_merge_values(lead_id=merge.survivor_id, values=restore)
        if not leads_services.reinsert_unmerged_lead(values=_restore_values(Lead, merge.merged_snapshot)):
            raise exceptions.MergeConflict("Another lead now has the merged lead's email; change it first.")
        tables = {m._meta.db_table: m for m, _ in _lead_tables()}
        for table, ids in merge.moved.items():
            if table in tables:
                tables[table]._default_manager.filter(pk__in=ids, lead_id=merge.survivor_id).update(
                    lead_id=merge.merged_id
                )
        for table, rows in merge.one_to_one.items():
            if table == _DEAL_KEY:
                pipeline_services.restore_deal_after_unmerge(merged_id=merge.merged_id, handed_over=rows)
                continue
            model = tables.get(table)
            if model is None:
                continue
            model._default_manager.filter(pk__in=[merge.survivor_id, merge.merged_id]).delete()
            for row in (rows.get("survivor"), rows.get("merged")):
                if row:
                    model(**_restore_values(model, row)).save(force_insert=True)
        for lead_id in (merge.survivor_id, merge.merged_id):
            reindex_lead(lead_id=lead_id)
        now = clock.now()
        merge.undone_at, merge.undone_by = now, actor
        merge.save(update_fields=["undone_at", "undone_by"])
        if merge.candidate_id:
            DuplicateCandidate.objects.filter(pk=merge.candidate_id).update(
                status=CandidateStatus.OPEN, decided_by=None, decided_at=None
            )
        for lead_id in (merge.survivor_id, merge.merged_id):
            core_events.publish(MergeUndone(lead_id=lead_id, actor_id=actor.pk if actor else None, merge_id=merge.pk,
                                            survivor_id=merge.survivor_id, merged_id=merge.merged_id))  # fmt: skip
    return merge


def merge_candidate(*, actor: User, candidate_id: int, survivor_id: int,
                    field_choices: Mapping[str, str] | None = None) -> Merge:  # fmt: skip
    """Merge the two leads of a queued pair (the UI's path)."""
    candidate = DuplicateCandidate.objects.filter(pk=candidate_id).first()
    if candidate is None:
        raise exceptions.CandidateNotFound("Duplicate not found.")
    pair = (candidate.lead_a_id, candidate.lead_b_id)
    if survivor_id not in pair:
        raise exceptions.InvalidMerge("The survivor must be one of the pair.", fields={"survivor_id": ["Not in pair."]})
    merged_id = pair[1] if survivor_id == pair[0] else pair[0]
    return merge_leads(actor=actor, survivor_id=survivor_id, merged_id=merged_id, field_choices=field_choices,
                       candidate_id=candidate.pk)  # fmt: skip


def merge_at_intake(*, lead_id: int, into_id: int, score: float, reasons: list[dict[str, Any]]) -> Merge:
    """Merge a lead intake has just created into the existing lead its fuzzy match found at or above the
    auto-merge threshold, recording the pair (score and reasons, status merged) and a reversible ``Merge``.

    For intake to call, in its transaction, right after ``create_lead_from_intake`` instead of attaching
    the submission to the matched lead: an automatic judgement is the one most likely to be wrong, so it
    leaves what a reviewer's merge leaves. Undo (``unmerge``) restores the submission's own lead exactly,
    with its submission, attribution, consents and timeline rows, and the existing lead's columns as
    they were before. Exact email/phone matches are the same contact point and need none of this.
    """
    record_candidate(lead_id=lead_id, other_id=into_id, score=score, reasons=reasons)
    a, b = sorted((lead_id, into_id))
    candidate_id = DuplicateCandidate.objects.filter(lead_a_id=a, lead_b_id=b).values_list("pk", flat=True).first()
    return merge_leads(actor=None, survivor_id=into_id, merged_id=lead_id, candidate_id=candidate_id, automatic=True)


# ---------------------------------------------------------------- background scan


@dataclass
class ScanResult:
    scanned: int = 0
    candidates: int = 0
    last_lead_id: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


SCAN_NAME = "leads"
# The scan compares each lead with at most this many earlier leads (those sharing the most keys), and
# ignores keys shared by ``SCAN_BLOCK_SIZE`` leads or more: bounded work per lead (1M leads < 10 min).
# Pair recall at review of the scan replay (domain.evaluate.evaluate_scan) for 3 / 4 / 5 / 10 / unlimited:
# FEBRL 2 (clusters of up to 6 records) 0.912 / 0.951 / 0.963 / 0.968 / 0.972; lead-shaped data (52k
# records) 0.9966 / - / 0.9974 / 0.9977 / -. Time at 1M leads (bench dedupe-scan): 3 → 476 s before the
# cheap first pass, 5 → 628 s with it (over the 10-minute budget), hence 4.
SCAN_PER_LEAD = 4
SCAN_BLOCK_SIZE = 100

_SCAN_PAIRS = """
WITH pairs AS (
    SELECT a.lead_id AS a_id, b.lead_id AS b_id, count(*) AS shared
    FROM dedupe_leadkey a JOIN dedupe_leadkey b ON b.key = a.key AND b.lead_id < a.lead_id
    WHERE a.lead_id > %(low)s AND a.lead_id <= %(high)s AND a.key NOT IN (SELECT unnest(%(common)s::bigint[]))
    GROUP BY a.lead_id, b.lead_id),
ranked AS (
    SELECT a_id, b_id, row_number() OVER (PARTITION BY a_id ORDER BY shared DESC, b_id DESC) AS rank FROM pairs)
SELECT a_id, b_id FROM ranked WHERE rank <= %(per_lead)s
"""


def _common_keys(position: int, leads: int) -> list[int]:
    """Keys of the leads after ``position`` that ``SCAN_BLOCK_SIZE`` leads or more share (for many leads, one
    pass over the whole index is cheaper than counting each of their keys)."""
    scope = "" if leads > 100_000 else "WHERE key IN (SELECT key FROM dedupe_leadkey WHERE lead_id > %(position)s)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key FROM dedupe_leadkey {scope} GROUP BY key HAVING count(*) >= %(size)s",  # noqa: S608
                       {"position": position, "size": SCAN_BLOCK_SIZE})  # fmt: skip
        return [row[0] for row in cursor.fetchall()]


def _scan_batch(low: int, high: int, common: list[int], prepared: dict[int, Any]) -> list[DuplicateCandidate]:
    """Candidate pairs ``(a, b)``, ``low < a <= high``, ``b < a``, scored; those at or above review."""
    m = matching._matcher()
    review = matching.thresholds()[1]
    with connection.cursor() as cursor:
        cursor.execute(_SCAN_PAIRS, {"low": low, "high": high, "common": common, "per_lead": SCAN_PER_LEAD})
        pairs = cursor.fetchall()
        missing = sorted({i for pair in pairs for i in pair} - prepared.keys())
        cursor.execute(f"SELECT {', '.join(matching.RECORD_FIELDS)} FROM leads_lead WHERE id = ANY(%s)",  # noqa: S608
                       [missing])  # fmt: skip
        for row in cursor.fetchall():
            prepared[row[0]] = matching.prepare(dict(zip(matching.RECORD_FIELDS, row, strict=True)), row[0])
    now = clock.now()
    found = []
    for a_id, b_id in pairs:
        a, b = prepared.get(a_id), prepared.get(b_id)
        if a is None or b is None:  # merged meanwhile (its keys are gone with it)
            continue
        result = m.compare_if_above(a, b, review)  # the cheap first pass skips most pairs
        if result is not None and result.score >= review:
            found.append(DuplicateCandidate(lead_a_id=b_id, lead_b_id=a_id, score=round(result.score, 4),
                                            reasons=matching.reasons_json(result), created_at=now))  # fmt: skip
    return found


def scan(
    *, since_id: int | None = None, batch: int = 10_000, limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:  # fmt: skip
    """Look for duplicates of every lead after the last scanned id (remembered in ``ScanState``), queueing
    pairs at or above the review threshold. Incremental and safe to re-run: pairs are unique, and the
    position is saved after each batch. ``progress(done, total)`` is called after each batch.

    Set-based: leads not yet in the key index are filed first (``build_key_index``); then, per batch of
    leads, one query pairs each lead with the ``SCAN_PER_LEAD`` earlier leads sharing the most blocking
    keys (so each pair is considered once, from its newer lead), and the pure matcher scores the pairs.
    """
    t0 = time.perf_counter()
    build_key_index()
    state, _ = ScanState.objects.get_or_create(name=SCAN_NAME)
    position = state.last_lead_id if since_id is None else since_id
    total = Lead.objects.filter(pk__gt=position).count()
    if limit is not None:
        total = min(total, limit)
    result = ScanResult(last_lead_id=position)
    common = _common_keys(position, total) if total else []
    prepared: dict[int, Any] = {}
    while result.scanned < total:
        size = min(batch, total - result.scanned)
        ids = list(Lead.objects.filter(pk__gt=position).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        if len(prepared) > 4 * batch:
            prepared.clear()
        with transaction.atomic():
            found = _scan_batch(position, ids[-1], common, prepared)
            DuplicateCandidate.objects.bulk_create(found, ignore_conflicts=True)
            result.candidates += len(found)
            position = ids[-1]
            ScanState.objects.filter(name=SCAN_NAME).update(last_lead_id=position, updated_at=clock.now())
        result.scanned += len(ids)
        result.last_lead_id = position
        if progress is not None:
            progress(result.scanned, total)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result
