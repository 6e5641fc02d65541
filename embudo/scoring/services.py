"""Scoring writes: the ledger, lead scores and grades, model versions, rescoring, decay and backtests.

Interface used by other contexts (keep these signatures):

- :func:`score_leads` recomputes the published model for some leads, in the caller's transaction.

Every score change goes through one set-based engine (:mod:`embudo.scoring.domain.sql`): compute the
contributions per (lead, rule), diff them against ``ScoreContribution``, append the differences to the
ledger, upsert the contributions and update ``leads_lead.score``/``grade`` where they changed. So
``lead.score == sum(ledger) == sum(contributions)`` by construction.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts.models import User
from embudo.core import clock
from embudo.core import events as core_events
from embudo.core.exceptions import Conflict, InvalidInput, NotFound
from embudo.core.sqlparams import int_array, uuid_array
from embudo.leads import condition_fields, search_index
from embudo.scoring.domain import rules as domain
from embudo.scoring.domain import sql as engine
from embudo.scoring.domain.validation import RuleError, parse_model
from embudo.scoring.events import GradeChanged
from embudo.scoring.models import (
    Backtest,
    BacktestStatus,
    ScoringRule,
    ScoringVersion,
    VersionStatus,
)

# pg_advisory_xact_lock keys (ENGINE_LOCK, stripe): incremental scoring shares every stripe, a bulk
# rescore chunk takes its worker's stripe alone (so the workers of one rescore do not wait for each other).
ENGINE_LOCK = 0x5C0_0E
_RESCORE_CHUNK_WAIT = (
    "FROM leads_lead l CROSS JOIN (SELECT pg_advisory_xact_lock_shared(%s, 0), pg_advisory_xact_lock_shared(%s, 1)) lk "
)
WORKERS = 2
CHUNK_SIZE = 50_000
PENDING_LIST_MERGE_INTERVAL = 0.25  # seconds between merges of the trigram pending list during a rescore
ACTIVITY_CAUSE = "activity"
_TEMP = "_scoring_new"
_BACKTEST_TEMP = "_scoring_backtest"


class VersionNotFound(NotFound):
    code = "scoring_version_not_found"


class NotADraft(Conflict):
    code = "scoring_not_a_draft"


class InvalidModel(InvalidInput):
    code = "validation_error"


class BacktestNotFound(NotFound):
    code = "backtest_not_found"


def can_manage_scoring(user: User) -> bool:
    """Managers, marketing and admins edit, backtest and publish scoring models."""
    return bool(user.is_active) and user.role in ("admin", "manager", "marketing")


@dataclass(frozen=True)
class ScoreChange:
    lead_id: int
    old_score: int
    score: int
    old_grade: str
    grade: str

    @property
    def became_hot(self) -> bool:
        return self.grade == "hot" and self.old_grade != "hot"


@dataclass(frozen=True)
class CompiledVersion:
    version_id: int
    team_id: int | None
    spec: domain.ModelSpec
    labels: dict[uuid.UUID, str]


@dataclass
class RescoreResult:
    leads: int = 0
    changed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    gin_merges: int = 0  # merges of the trigram index's pending list while the chunks ran (leads.search_index)


# Published and archived versions never change: their compiled form is cached by (id, published_at).
_COMPILED: dict[tuple[int, datetime | None], CompiledVersion] = {}


def fields() -> engine.Fields:
    return engine.Fields(
        columns=condition_fields.SQL, custom_column=condition_fields.CUSTOM_SQL, from_sql=condition_fields.FROM_SQL
    )


def spec_of(version: ScoringVersion, rules: Iterable[ScoringRule] | None = None) -> domain.ModelSpec:
    rows = list(rules) if rules is not None else list(version.rules.all())
    try:
        return parse_model(
            rules=[rule_as_dict(r) for r in rows],
            warm_min=version.warm_min,
            hot_min=version.hot_min,
            mql_threshold=version.mql_threshold,
            inactivity_days=version.inactivity_days,
            inactivity_points=version.inactivity_points,
            fit_fields=condition_fields.SQL,
        )
    except RuleError as exc:  # pragma: no cover - versions are validated when saved
        raise InvalidModel(_("The scoring model is not valid."), fields=exc.fields) from exc


def rule_as_dict(rule: ScoringRule) -> dict[str, Any]:
    return {
        "key": str(rule.key),
        "kind": rule.kind,
        "label": rule.label,
        "points": rule.points,
        "conditions": rule.conditions,
        "event_type": rule.event_type,
        "repeatable": rule.repeatable,
        "max_points": rule.max_points,
        "window_days": rule.window_days,
        "decay": rule.decay,
        "decay_days": rule.decay_days,
    }


def _labels(spec: domain.ModelSpec) -> dict[uuid.UUID, str]:
    labels = {r.key: r.label for r in spec.rules}
    if spec.inactivity_on:
        labels[domain.INACTIVITY_KEY] = _("No activity for %(days)s days") % {"days": spec.inactivity_days}
    return labels


def compile_version(version: ScoringVersion) -> CompiledVersion:
    cache_key = (version.pk, version.published_at)
    if version.status != VersionStatus.DRAFT and cache_key in _COMPILED:
        return _COMPILED[cache_key]
    spec = spec_of(version)
    compiled = CompiledVersion(version_id=version.pk, team_id=version.team_id, spec=spec, labels=_labels(spec))
    if version.status != VersionStatus.DRAFT:
        _COMPILED[cache_key] = compiled
    return compiled


def _compiled_by_id(version_id: int, published_at: datetime | None) -> CompiledVersion:
    cached = _COMPILED.get((version_id, published_at))
    if cached is not None:
        return cached
    return compile_version(ScoringVersion.objects.get(pk=version_id))


# --- incremental scoring ------------------------------------------------------------------------------


# Up to this many leads, score_leads runs on the generic plan (see there).
GENERIC_PLAN_MAX_LEADS = 50


Occurrence = tuple[str, datetime, Mapping[str, Any]]  # (event type without "activity.", occurred_at, properties)


@dataclass(frozen=True)
class ActivityScoring:
    changes: dict[int, ScoreChange]
    # Leads whose row another transaction held (it is scoring them too): not scored here; the caller defers them.
    contended: list[int]


def score_activity(
    lead_ids: Sequence[int], *, new_activity: Mapping[int, Sequence[Occurrence]], event_id: int | None = None
) -> ActivityScoring:
    """:func:`score_leads` for a batch of new behaviour events, without waiting for another transaction that
    holds some of these leads (a concurrent batch for the same leads holds them until it commits, about half
    of its time: two API workers drawing on the same 50,000 leads waited ~30 % of theirs). Those leads come
    back as ``contended``, unscored; the caller defers their scoring to a job, which recomputes them from their
    history (so the events of both batches count) once the other transaction is gone."""
    contended: list[int] = []
    changes = score_leads(lead_ids, cause=ACTIVITY_CAUSE, event_id=event_id, new_activity=new_activity,
                          _contended=contended)  # fmt: skip
    return ActivityScoring(changes=changes, contended=contended)


def score_leads(
    lead_ids: Sequence[int],
    *,
    cause: str,
    event_id: int | None = None,
    actor_id: int | None = None,
    new_activity: Mapping[int, Sequence[Occurrence]] | None = None,
    created_here: Collection[int] = (),
    _contended: list[int] | None = None,
) -> dict[int, ScoreChange]:
    """Recompute the published scoring model for ``lead_ids`` and append the differences to the ledger.

    Updates ``Lead.score``/``grade``, applies automatic lifecycle transitions and publishes
    ``scoring.GradeChanged`` for leads whose grade moved. Returns the leads whose score or grade changed.
    ``cause`` is a short code recorded on the ledger ("captured", "activity", "edited", "decay", …).
    Set-based: a constant number of queries for one lead or a thousand.

    ``new_activity`` (lead → its just-stored behaviour events; cause "activity") scores those events
    incrementally: each engagement rule's new points follow from its stored points and the new events
    alone (:func:`domain.incremental_engagement`), so the leads' event history is not read. A lead for
    which that is not exact (a late event under a decaying rule, a repeatable decaying rule) is recomputed
    from its history as usual, and so is every lead while its model's rescore after publishing runs (its
    stored points may be the previous model's).

    ``created_here``: leads the caller's transaction inserted and has not committed (intake). A bulk rescore
    chunk cannot see them, so their scoring does not wait for a running chunk: a lead captured while a
    1M-lead rescore ran waited for the chunk in progress, 1.5-4.4 s (bench scoring, 2026-11-23).
    """
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        return {}
    changes: dict[int, ScoreChange] = {}
    thresholds: dict[int, int] = {}
    # Only leads a chunk may also be diffing wait for it: a chunk's statements read committed leads only.
    wait_for_rescore = not set(ids) <= set(created_here)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Lock the leads (two scorings of one lead must not both diff against the same contributions)
        # and wait for a running bulk rescore chunk; find each lead's published version.
        cursor.execute(
            "SELECT l.id, coalesce(tv.id, gv.id), coalesce(tv.published_at, gv.published_at), "
            "CASE WHEN tv.id IS NOT NULL THEN tv.rescore_finished_at ELSE gv.rescore_finished_at END IS NOT NULL "
            + (_RESCORE_CHUNK_WAIT if wait_for_rescore else "FROM leads_lead l ")
            + "LEFT JOIN scoring_scoringversion tv ON tv.team_id = l.team_id AND tv.status = 'published' "
            "LEFT JOIN scoring_scoringversion gv ON gv.team_id IS NULL AND gv.status = 'published' "
            "WHERE l.id = ANY(%s::bigint[]) ORDER BY l.id FOR UPDATE OF l"
            + (" SKIP LOCKED" if _contended is not None else ""),
            [*([ENGINE_LOCK, ENGINE_LOCK] if wait_for_rescore else []), int_array(ids)],
        )
        locked = cursor.fetchall()
        if _contended is not None and len(locked) < len(ids):
            # Skipped: held by another transaction (or deleted meanwhile, which a job finds out harmlessly).
            _contended.extend(sorted(set(ids) - {row[0] for row in locked}))
        groups: dict[tuple[int | None, datetime | None], list[int]] = {}
        rescored: dict[tuple[int | None, datetime | None], bool] = {}
        for lead_id, version_id, published_at, rescore_finished in locked:
            groups.setdefault((version_id, published_at), []).append(lead_id)
            rescored[(version_id, published_at)] = bool(rescore_finished)
        now = clock.now()
        for (version_id, published_at), all_of_group in groups.items():
            if version_id is None:  # no model published yet: scores are left alone
                continue
            compiled = _compiled_by_id(version_id, published_at)
            spec = compiled.spec
            group = all_of_group
            if new_activity is not None and cause == ACTIVITY_CAUSE and rescored[(version_id, published_at)]:
                group, increments = _incremental_rows(cursor, spec, all_of_group, new_activity, now)
                if increments:
                    _apply_incremental(
                        cursor, compiled, increments, version_id, cause, event_id, now, changes, thresholds
                    )
            if not group:
                continue
            scope = engine.Sql(
                "SELECT l.id AS lead_id, l.score AS old_score, l.grade AS old_grade FROM leads_lead l "
                "WHERE l.id = ANY(%s)",
                [group],
            )
            # New behaviour changes engagement and inactivity only: fit contributions are kept as they are
            # (an edit rescoring the lead recomputes them). Saves the lead/company join on the tracking path.
            keep = [r.key for r in spec.rules if r.kind == domain.FIT] if cause == ACTIVITY_CAUSE else []
            recompute = spec.contribution_keys() - set(keep)
            statement = engine.apply_sql(
                scope=scope,
                computed=engine.computed_sql(spec, fields(), now, keys=recompute),
                keep_keys=keep,
                model=spec,
                version_id=version_id,
                cause=cause,
                event_id=event_id,
                now=now,
                labels=compiled.labels,
                removed_label=_("Rule no longer in the model"),
                write_rank=len(group) > GENERIC_PLAN_MAX_LEADS,
            )
            # A few leads (intake, an edit): reuse the prepared statement's generic plan. PostgreSQL otherwise
            # re-plans this statement at every call (~2 ms, a third of the PostgreSQL CPU of an API intake);
            # bulk groups keep per-call plans, whose row estimates matter there.
            generic = len(group) <= GENERIC_PLAN_MAX_LEADS
            if generic:
                cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                cursor.execute(statement.text, statement.params)
                rows = cursor.fetchall()
                cursor.execute("SET LOCAL plan_cache_mode = auto")
            else:
                rows = _execute_writing_ranks(cursor, statement)
            for lead_id, old_score, score, old_grade, grade in rows:
                changes[lead_id] = ScoreChange(lead_id, old_score, score, old_grade, grade)
                thresholds[lead_id] = spec.mql_threshold
        _after_changes(changes, thresholds, groups, actor_id=actor_id)
    return changes


def _execute_writing_ranks(cursor: Any, statement: engine.Sql) -> list[Any]:
    """Run an ``apply_sql(write_rank=True)`` statement: it updates ``leads_leadscorerank`` itself, set-based,
    so the row trigger that keeps the rank for every other writer of a score (~100 µs a row) is told to
    skip this statement's rows, and told again right after."""
    cursor.execute("SELECT set_config('embudo.score_rank_written', 'on', true)")
    cursor.execute(statement.text, statement.params)
    rows = list(cursor.fetchall())
    cursor.execute("SELECT set_config('embudo.score_rank_written', 'off', true)")
    return rows


def _incremental_rows(
    cursor: Any,
    spec: domain.ModelSpec,
    group: list[int],
    new_activity: Mapping[int, Sequence[Occurrence]],
    now: datetime,
) -> tuple[list[int], list[tuple[int, uuid.UUID, int]]]:
    """The new (lead, rule, points) of ``group``'s leads from their new events and stored points, where they
    change; and the leads that need their history after all (see :func:`score_leads`)."""
    engagement = [r for r in spec.rules if r.kind == domain.ENGAGEMENT]
    keys = [r.key for r in engagement] + ([domain.INACTIVITY_KEY] if spec.inactivity_on else [])
    if not keys:
        return [], []
    # Each rule by its position in ``keys`` (1-based, array_position): int pairs hash faster than UUIDs.
    keys_array = uuid_array(keys)
    cursor.execute(
        "SELECT lead_id, array_position(%s::uuid[], rule_key), points FROM scoring_scorecontribution "
        "WHERE lead_id = ANY(%s::bigint[]) AND rule_key = ANY(%s::uuid[])",
        [keys_array, int_array(group), keys_array],
    )
    stored = {(lead, position): points for lead, position, points in cursor.fetchall()}
    conditions = [domain.property_conditions(r.conditions) for r in engagement]
    inactivity_position = len(engagement) + 1
    full: list[int] = []
    rows: list[tuple[int, uuid.UUID, int]] = []
    for lead_id in group:
        fresh = new_activity.get(lead_id, ())
        by_type: dict[str, list[Occurrence]] = {}
        for occurrence in fresh:
            by_type.setdefault(occurrence[0], []).append(occurrence)
        lead_rows: list[tuple[int, uuid.UUID, int]] = []
        exact = True
        for position, rule in enumerate(engagement, start=1):
            of_type = by_type.get(rule.event_type)
            if of_type is None:  # no new event of its type: untouched
                continue
            old = stored.get((lead_id, position), 0)
            touched, points = domain.incremental_engagement(
                rule, old, of_type, now=now, conditions=conditions[position - 1]
            )
            if points is None:
                exact = False
                break
            if touched and points != old:
                lead_rows.append((lead_id, rule.key, points))
        if exact and spec.inactivity_on:
            old = stored.get((lead_id, inactivity_position), 0)
            points = domain.incremental_inactivity(spec, old, [at for _t, at, _p in fresh], now=now)
            if points != old:
                lead_rows.append((lead_id, domain.INACTIVITY_KEY, points))
        if exact:
            rows.extend(lead_rows)
        else:
            full.append(lead_id)
    return full, rows


def _apply_incremental(
    cursor: Any,
    compiled: CompiledVersion,
    rows: Sequence[tuple[int, uuid.UUID, int]],
    version_id: int,
    cause: str,
    event_id: int | None,
    now: datetime,
    changes: dict[int, ScoreChange],
    thresholds: dict[int, int],
) -> None:
    """Write incremental contributions: the engine's diff-and-write with the given (lead, rule, points) and
    every other stored contribution kept."""
    lead_ids = sorted({lead_id for lead_id, _k, _p in rows})
    statement = engine.apply_sql(
        scope=engine.Sql(
            "SELECT l.id AS lead_id, l.score AS old_score, l.grade AS old_grade FROM leads_lead l "
            "WHERE l.id = ANY(%s::bigint[])",
            [int_array(lead_ids)],
        ),
        computed=engine.Sql(
            "SELECT c.lead_id, c.rule_key, c.points FROM unnest(%s::bigint[], %s::uuid[], %s::int[]) "
            "AS c(lead_id, rule_key, points)",
            [int_array(r[0] for r in rows), uuid_array(r[1] for r in rows), int_array(r[2] for r in rows)],
        ),
        keep_keys=[],
        model=compiled.spec,
        version_id=version_id,
        cause=cause,
        event_id=event_id,
        now=now,
        labels=compiled.labels,
        removed_label=_("Rule no longer in the model"),
        keep_untouched=True,
        write_rank=True,
    )
    for lead_id, old_score, score, old_grade, grade in _execute_writing_ranks(cursor, statement):
        changes[lead_id] = ScoreChange(lead_id, old_score, score, old_grade, grade)
        thresholds[lead_id] = compiled.spec.mql_threshold


def _after_changes(
    changes: Mapping[int, ScoreChange],
    thresholds: Mapping[int, int],
    groups: Mapping[tuple[int | None, datetime | None], list[int]],
    *,
    actor_id: int | None,
) -> None:
    if not changes:
        return
    version_of = {lead_id: v for (v, _p), ids in groups.items() for lead_id in ids}
    with connection.cursor() as cursor:
        _grade_events(cursor, changes, version_of=version_of, actor_id=actor_id, defer_jobs=True)
    by_threshold: dict[int, dict[int, ScoreChange]] = {}
    for lead_id, change in changes.items():
        by_threshold.setdefault(thresholds[lead_id], {})[lead_id] = change
    for threshold, group in by_threshold.items():
        _lifecycle_hook(group, threshold)


def _lifecycle_hook(changes: Mapping[int, ScoreChange], mql_threshold: int) -> None:
    """``scoring.lifecycle.on_scores_changed`` when that module provides it (built separately)."""
    try:
        module = importlib.import_module("embudo.scoring.lifecycle")
    except ImportError:
        return
    hook = getattr(module, "on_scores_changed", None)
    if hook is not None:
        hook(changes, mql_threshold=mql_threshold)


# --- versions -----------------------------------------------------------------------------------------


def _of_scope(team_id: int | None) -> Q:
    return Q(team__isnull=True) if team_id is None else Q(team_id=team_id)


def published_version(team_id: int | None) -> ScoringVersion | None:
    return ScoringVersion.objects.filter(_of_scope(team_id), status=VersionStatus.PUBLISHED).first()


def _next_number(team_id: int | None) -> int:
    last = (
        ScoringVersion.objects.filter(_of_scope(team_id)).order_by("-number").values_list("number", flat=True).first()
    )
    return (last or 0) + 1


def create_draft(
    *, actor: User | None, team_id: int | None = None, from_version_id: int | None = None, name: str = ""
) -> ScoringVersion:
    """A new draft: a copy of ``from_version_id`` (else the scope's published version, else empty).
    Copied rules keep their keys, so unchanged rules keep their contributions when it is published."""
    with transaction.atomic():
        source: ScoringVersion | None
        if from_version_id is not None:
            source = ScoringVersion.objects.filter(pk=from_version_id).first()
            if source is None:
                raise VersionNotFound(_("No such scoring version."))
            team_id = source.team_id
        else:  # a team's first model starts from the global one
            source = published_version(team_id) or (published_version(None) if team_id is not None else None)
        draft = ScoringVersion.objects.create(
            team_id=team_id,
            number=_next_number(team_id),
            name=name or (source.name if source else _("Scoring model")),
            status=VersionStatus.DRAFT,
            warm_min=source.warm_min if source else 51,
            hot_min=source.hot_min if source else 81,
            mql_threshold=source.mql_threshold if source else 81,
            inactivity_days=source.inactivity_days if source else 0,
            inactivity_points=source.inactivity_points if source else 0,
            created_by=actor,
            created_at=clock.now(),
        )
        if source is not None:
            ScoringRule.objects.bulk_create(
                ScoringRule(
                    version=draft,
                    key=r.key,
                    kind=r.kind,
                    label=r.label,
                    points=r.points,
                    conditions=r.conditions,
                    event_type=r.event_type,
                    repeatable=r.repeatable,
                    max_points=r.max_points,
                    window_days=r.window_days,
                    decay=r.decay,
                    decay_days=r.decay_days,
                    position=r.position,
                )
                for r in source.rules.all()
            )
    return draft


def _stored_conditions(spec_rule: domain.RuleSpec) -> list[dict[str, Any]]:
    return [c.as_dict() for c in spec_rule.conditions]


def update_draft(
    version_id: int,
    *,
    actor: User | None,
    name: str | None = None,
    warm_min: int | None = None,
    hot_min: int | None = None,
    mql_threshold: int | None = None,
    inactivity_days: int | None = None,
    inactivity_points: int | None = None,
    rules: Sequence[Mapping[str, Any]] | None = None,
) -> ScoringVersion:
    """Edit a draft; ``rules`` (when given) replaces all its rules. Raises :class:`InvalidModel` with
    field-level messages (``rules.<i>.conditions.<j>.value``, ``hot_min``, …)."""
    del actor
    with transaction.atomic():
        version = ScoringVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise VersionNotFound(_("No such scoring version."))
        if version.status != VersionStatus.DRAFT:
            raise NotADraft(_("Only drafts can be edited: copy this version to a new draft."))
        raw_rules = list(rules) if rules is not None else [rule_as_dict(r) for r in version.rules.all()]
        try:
            spec = parse_model(
                rules=raw_rules,
                warm_min=version.warm_min if warm_min is None else warm_min,
                hot_min=version.hot_min if hot_min is None else hot_min,
                mql_threshold=version.mql_threshold if mql_threshold is None else mql_threshold,
                inactivity_days=version.inactivity_days if inactivity_days is None else inactivity_days,
                inactivity_points=version.inactivity_points if inactivity_points is None else inactivity_points,
                fit_fields=condition_fields.SQL,
            )
        except RuleError as exc:
            raise InvalidModel(_("Some fields are not valid."), fields=exc.fields) from exc
        if name is not None:
            version.name = name.strip()[:120]
        version.warm_min, version.hot_min, version.mql_threshold = spec.warm_min, spec.hot_min, spec.mql_threshold
        version.inactivity_days, version.inactivity_points = spec.inactivity_days, spec.inactivity_points
        version.save()
        if rules is not None:
            version.rules.all().delete()
            ScoringRule.objects.bulk_create(
                ScoringRule(
                    version=version,
                    key=r.key,
                    kind=r.kind,
                    label=r.label,
                    points=r.points,
                    conditions=_stored_conditions(r),
                    event_type=r.event_type,
                    repeatable=r.repeatable,
                    max_points=r.max_points,
                    window_days=r.window_days,
                    decay=r.decay if r.kind == domain.ENGAGEMENT else "none",
                    decay_days=r.decay_days,
                    position=i,
                )
                for i, r in enumerate(spec.rules)
            )
    return version


def publish(version_id: int, *, actor: User | None, rescore: str = "background") -> ScoringVersion:
    """Publish a draft: archive the scope's published version, then rescore the scope's leads
    (``rescore``: "background" defers the job, "now" runs it in this process, "none" skips it)."""
    with transaction.atomic():
        version = ScoringVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise VersionNotFound(_("No such scoring version."))
        if version.status != VersionStatus.DRAFT:
            raise NotADraft(_("Only drafts can be published."))
        spec_of(version)  # validates (raises InvalidModel)
        previous = published_version(version.team_id)
        if previous is not None:
            previous.status = VersionStatus.ARCHIVED
            previous.save(update_fields=["status"])
        now = clock.now()
        version.status = VersionStatus.PUBLISHED
        version.published_at = now
        version.published_by = actor
        version.rescore_total = 0
        version.rescore_done = 0
        version.rescore_started_at = None
        version.rescore_finished_at = None
        version.save()
        if rescore == "background":
            from embudo.scoring import tasks

            tasks.rescore_version.defer(
                version_id=version.pk, previous_id=previous.pk if previous is not None else None
            )
    if rescore == "now":
        rescore_after_publish(version.pk, previous_id=previous.pk if previous is not None else None)
        version.refresh_from_db()
    return version


def _scope_predicate(version: ScoringVersion) -> engine.Sql:
    """The leads a version scores (alias ``l``): its team's, or for the global version every lead whose
    team has no published version of its own."""
    if version.team_id is not None:
        return engine.Sql("l.team_id = %s", [version.team_id])
    return engine.Sql(
        "(l.team_id IS NULL OR l.team_id NOT IN (SELECT team_id FROM scoring_scoringversion "
        "WHERE status = 'published' AND team_id IS NOT NULL))",
        [],
    )


def _unchanged_keys(new: domain.ModelSpec, old: domain.ModelSpec | None) -> set[uuid.UUID]:
    if old is None:
        return set()
    old_prints = old.fingerprints()
    return {k for k, p in new.fingerprints().items() if old_prints.get(k) == p}


def _rescaled_keys(new: domain.ModelSpec, old: domain.ModelSpec | None, keys: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Among ``keys``, the rules whose points alone changed and whose contributions follow from the stored
    ones (:func:`domain.rescalable`): key → new points."""
    if old is None:
        return {}
    before = {r.key: r for r in old.rules}
    return {
        r.key: r.points for r in new.rules if r.key in keys and r.key in before and domain.rescalable(r, before[r.key])
    }


def rescore_after_publish(version_id: int, *, previous_id: int | None = None) -> RescoreResult:
    """Bring every lead of the version's scope to it. Only rules that are new or changed compared with
    the model that scored these leads before are recomputed (rules whose points alone changed are rescaled
    from their stored contributions); removed rules' contributions are reversed."""
    version = ScoringVersion.objects.get(pk=version_id)
    if version.status != VersionStatus.PUBLISHED:
        return RescoreResult()
    compiled = compile_version(version)
    before: ScoringVersion | None = None
    if previous_id is not None:
        before = ScoringVersion.objects.filter(pk=previous_id).first()
    if before is None and version.team_id is not None:
        before = published_version(None)
    old_spec = compile_version(before).spec if before is not None else None
    keep = _unchanged_keys(compiled.spec, old_spec)
    recompute = compiled.spec.contribution_keys() - keep
    labels = dict(compiled.labels)
    if before is not None:
        removed = _("Removed from the model")
        for key, label in compile_version(before).labels.items():
            labels.setdefault(key, f"{removed}: {label}")
    return rescore_scope(
        version,
        compiled,
        keep=keep,
        recompute=recompute,
        cause="publish",
        labels=labels,
        progress=True,
        rescaled=_rescaled_keys(compiled.spec, old_spec, recompute),
    )


@dataclass(frozen=True)
class _BulkRun:
    """What every chunk of one bulk rescore shares."""

    version: ScoringVersion
    compiled: CompiledVersion
    scope: engine.Sql
    keep: list[uuid.UUID]
    rescaled: dict[uuid.UUID, int]
    table: str | None
    cause: str
    labels: Mapping[uuid.UUID, str]
    snapshot_entry_id: int
    progress: bool


def rescore_scope(
    version: ScoringVersion,
    compiled: CompiledVersion,
    *,
    keep: set[uuid.UUID],
    recompute: set[uuid.UUID],
    cause: str,
    labels: Mapping[uuid.UUID, str] | None = None,
    progress: bool = False,
    chunk_size: int = CHUNK_SIZE,
    rescaled: Mapping[uuid.UUID, int] | None = None,
    workers: int | None = None,
) -> RescoreResult:
    """The bulk engine: compute the ``recompute`` contributions for the whole scope in one pass into a
    table, then diff-and-write in lead id ranges (one transaction each, progress stored). ``rescaled``
    keys (among ``recompute``) are not computed: their stored contributions take the new points.

    Outside a transaction the chunks run on ``workers`` connections at once (default :data:`WORKERS`):
    index maintenance of the changed leads is most of the work and PostgreSQL does it on one core per
    connection. Inside a transaction (tests, a caller's atomic block) they run one after the other on
    this connection, which sees the caller's uncommitted rows."""
    started = time.perf_counter()
    result = RescoreResult()
    now = clock.now()
    scope = _scope_predicate(version)
    rescaled = {k: p for k, p in (rescaled or {}).items() if k in recompute}
    compute_keys = set(recompute) - set(rescaled)
    parallel = (WORKERS if workers is None else workers) > 1 and not connection.in_atomic_block
    n_workers = (WORKERS if workers is None else workers) if parallel else 1
    table: str | None = None
    with connection.cursor() as cursor:
        # Leads scored incrementally after this point (intake, behaviour) are already on the published
        # version with fresher data than the snapshot below: the chunks skip them (see the end).
        cursor.execute("SELECT coalesce(max(id), 0) FROM scoring_scoreentry")
        row = cursor.fetchone()
        snapshot_entry_id = int(row[0]) if row else 0
        if compute_keys:
            computed = engine.computed_sql(compiled.spec, fields(), now, keys=compute_keys)
            # The workers' connections read it: a (dropped at the end) unlogged table then, else a temp one.
            table = f"scoring_rescore_{uuid.uuid4().hex[:16]}" if parallel else _TEMP
            kind = "UNLOGGED" if parallel else "TEMP"
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE {kind} TABLE {table} AS WITH scope AS (SELECT l.id AS lead_id FROM leads_lead l "  # noqa: S608
                f"WHERE {scope.text}) SELECT * FROM ({computed.text}) x",
                scope.params + computed.params,
            )
            cursor.execute(f"CREATE INDEX ON {table} (lead_id)")
            cursor.execute(f"ANALYZE {table}")
        result.phases["compute_s"] = round(time.perf_counter() - started, 3)
        # Chunk boundaries every ``chunk_size`` leads of the scope (ids can be sparse): one index-only scan.
        cursor.execute(
            "SELECT x.id, x.n, x.rn %% %s = 1 FROM (SELECT l.id, row_number() OVER (ORDER BY l.id) AS rn, "  # noqa: S608
            f"count(*) OVER () AS n, max(l.id) OVER () AS top FROM leads_lead l WHERE {scope.text}) x "
            "WHERE x.rn %% %s = 1 OR x.id = x.top ORDER BY x.id",
            [chunk_size, *scope.params, chunk_size],
        )
        marks = cursor.fetchall()
    result.leads = int(marks[0][1]) if marks else 0
    if progress:
        ScoringVersion.objects.filter(pk=version.pk).update(
            rescore_total=result.leads, rescore_done=0, rescore_started_at=now, rescore_finished_at=None
        )
    run = _BulkRun(
        version=version,
        compiled=compiled,
        scope=scope,
        keep=sorted(keep),
        rescaled=rescaled,
        table=table,
        cause=cause,
        labels=labels if labels is not None else compiled.labels,
        snapshot_entry_id=snapshot_entry_id,
        progress=progress,
    )
    starts = [int(m[0]) for m in marks if m[2]]
    ranges = [(lo, nxt - 1) for lo, nxt in itertools.pairwise(starts)]
    if starts:
        ranges.append((starts[-1], int(marks[-1][0])))
    # Chunks append to the trigram index's pending list under a large limit (see _rescore_chunk); with more than
    # one, a lead arriving meanwhile would merge what they appended: merged from another connection instead.
    merger = search_index.PendingListMerger(interval=PENDING_LIST_MERGE_INTERVAL) if len(ranges) > 1 else None
    try:
        with merger or contextlib.nullcontext():
            if n_workers > 1 and len(ranges) > 1:
                _run_parallel(run, ranges, result, n_workers)
            else:
                for lo, hi in ranges:
                    _merge(result, _rescore_chunk(run, lo, hi, stripe=0))
        result.gin_merges = merger.merges if merger is not None else 0
    finally:
        if table is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT se.lead_id FROM scoring_scoreentry se JOIN leads_lead l ON l.id = se.lead_id "  # noqa: S608
            f"WHERE se.id > %s AND se.cause <> %s AND {scope.text}",
            [snapshot_entry_id, cause, *scope.params],
        )
        touched = [r[0] for r in cursor.fetchall()]
    for i in range(0, len(touched), 1000):
        score_leads(touched[i : i + 1000], cause=cause)
    if progress:
        ScoringVersion.objects.filter(pk=version.pk).update(rescore_finished_at=clock.now())
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _merge(total: RescoreResult, part: RescoreResult) -> None:
    total.changed += part.changed
    total.chunks += part.chunks
    for phase, seconds in part.phases.items():
        total.phases[phase] = round(total.phases.get(phase, 0.0) + seconds, 3)


def _run_parallel(run: _BulkRun, ranges: list[tuple[int, int]], result: RescoreResult, n_workers: int) -> None:
    """Chunks on ``n_workers`` threads, each with its own database connection and lock stripe."""
    pending = list(reversed(ranges))
    lock = threading.Lock()

    def work(stripe: int) -> None:
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    lo, hi = pending.pop()
                part = _rescore_chunk(run, lo, hi, stripe=stripe)
                with lock:
                    _merge(result, part)
        finally:
            connection.close()  # this thread's connection

    with concurrent.futures.ThreadPoolExecutor(max_workers=n_workers) as pool:
        for future in [pool.submit(work, stripe) for stripe in range(n_workers)]:
            future.result()


def _rescore_chunk(run: _BulkRun, lo: int, hi: int, *, stripe: int) -> RescoreResult:
    """Diff-and-write the leads of one id range in one transaction (holding lock stripe ``stripe``)."""
    part = RescoreResult(chunks=1)
    spec = run.compiled.spec
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ENGINE_LOCK, stripe])
        # Score updates are HOT while the lead's heap page has room (the sort key lives in LeadScoreRank);
        # the others insert into all of leads_lead's indexes, the trigram GIN the dearest. A large pending
        # list for this transaction, merged once at the end of the chunk, is ~30% cheaper than per-row GIN
        # inserts (bench: scoring).
        cursor.execute("SET LOCAL gin_pending_list_limit = '256MB'")
        chunk_scope = engine.Sql(
            "SELECT l.id AS lead_id, l.score AS old_score, l.grade AS old_grade FROM leads_lead l "  # noqa: S608
            f"WHERE l.id BETWEEN %s AND %s AND {run.scope.text} AND NOT EXISTS (SELECT 1 FROM scoring_scoreentry se "
            "WHERE se.lead_id = l.id AND se.id > %s)",
            [lo, hi, *run.scope.params, run.snapshot_entry_id],
        )
        if run.table is not None:
            chunk_computed = engine.Sql(
                f"SELECT n.lead_id, n.rule_key, n.points FROM {run.table} n WHERE n.lead_id BETWEEN %s AND %s",  # noqa: S608
                [lo, hi],
            )
        else:
            chunk_computed = engine.computed_sql(spec, fields(), clock.now(), keys=set())
        statement = engine.apply_sql(
            scope=chunk_scope,
            computed=chunk_computed,
            keep_keys=run.keep,
            model=spec,
            version_id=run.version.pk,
            cause=run.cause,
            event_id=None,
            now=clock.now(),
            labels=run.labels,
            removed_label=_("Rule no longer in the model"),
            lead_range=(lo, hi),
            rescaled=run.rescaled,
            write_rank=True,
        )
        t0 = time.perf_counter()
        rows = _execute_writing_ranks(cursor, statement)
        changes = {r[0]: ScoreChange(r[0], r[1], r[2], r[3], r[4]) for r in rows}
        t1 = time.perf_counter()
        _grade_events(cursor, changes, version_of=dict.fromkeys(changes, run.version.pk), defer_jobs=False)
        t2 = time.perf_counter()
        if changes:
            _lifecycle_hook(changes, spec.mql_threshold)
        t3 = time.perf_counter()
        if changes:
            search_index.merge_pending_lists()
        t4 = time.perf_counter()
        for phase, seconds in (("apply_s", t1 - t0), ("grade_events_s", t2 - t1), ("lifecycle_s", t3 - t2),
                               ("gin_merge_s", t4 - t3)):  # fmt: skip
            part.phases[phase] = round(seconds, 3)
        cursor.execute(
            f"SELECT count(*) FROM leads_lead l WHERE l.id BETWEEN %s AND %s AND {run.scope.text}",  # noqa: S608
            [lo, hi, *run.scope.params],
        )
        row = cursor.fetchone()
        done = int(row[0]) if row else 0
        part.changed = len(changes)
    if run.progress:
        ScoringVersion.objects.filter(pk=run.version.pk).update(rescore_done=F("rescore_done") + done)
    return part


def _grade_events(
    cursor: Any,
    changes: Mapping[int, ScoreChange],
    *,
    version_of: Mapping[int, int | None],
    actor_id: int | None = None,
    defer_jobs: bool,
) -> None:
    """``scoring.GradeChanged`` for every grade move, set-based: one INSERT for the timeline rows, one batch
    of jobs per subscriber. Bulk rescoring (publish, decay) passes ``defer_jobs=False``: a model change or
    the clock must not route thousands of leads at once; the timeline still shows the move."""
    moved = [c for c in changes.values() if c.grade != c.old_grade]
    if not moved:
        return
    cursor.execute(
        "INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload) "
        "SELECT %s, %s, u.id, %s, jsonb_build_object('old_grade', u.og, 'grade', u.g, 'old_score', u.os, "
        "'score', u.s, 'became_hot', u.g = 'hot' AND u.og <> 'hot', 'version_id', u.v) "
        "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::text[], %s::text[], %s::bigint[]) "
        "AS u(id, os, s, og, g, v) RETURNING id, payload",
        [
            GradeChanged.type_name(),
            clock.now(),
            actor_id,
            [c.lead_id for c in moved],
            [c.old_score for c in moved],
            [c.score for c in moved],
            [c.old_grade for c in moved],
            [c.grade for c in moved],
            [version_of.get(c.lead_id) for c in moved],
        ],
    )
    inserted = cursor.fetchall()
    if defer_jobs:
        # Most moves are cold ↔ warm: only the subscribers that react to them get a job (event_map.ONLY_WHEN).
        jobs: dict[str, list[Any]] = {}
        for event_id, payload in inserted:
            payload = json.loads(payload) if isinstance(payload, str) else payload  # Django loads jsonb as text
            for task_name in core_events.subscribers_of(GradeChanged.type_name(), payload=payload):
                jobs.setdefault(task_name, []).append({"event_id": event_id})
        for task_name, kwargs in jobs.items():
            procrastinate_app.configure_task(task_name).batch_defer(*kwargs)


def run_decay() -> dict[int, RescoreResult]:
    """Recompute the clock-dependent contributions (decaying or windowed engagement rules, inactivity)
    of every published version's leads. Ledger cause "decay"."""
    results: dict[int, RescoreResult] = {}
    for version in ScoringVersion.objects.filter(status=VersionStatus.PUBLISHED).order_by("pk"):
        compiled = compile_version(version)
        recompute = {r.key for r in compiled.spec.rules if r.time_dependent}
        if compiled.spec.inactivity_on:
            recompute.add(domain.INACTIVITY_KEY)
        if not recompute:
            continue
        keep = compiled.spec.contribution_keys() - recompute
        results[version.pk] = rescore_scope(version, compiled, keep=keep, recompute=recompute, cause="decay")
    return results


# --- backtests ----------------------------------------------------------------------------------------


def request_backtest(version_id: int, *, actor: User | None, background: bool = True) -> Backtest:
    version = ScoringVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise VersionNotFound(_("No such scoring version."))
    spec_of(version)
    backtest = Backtest.objects.create(version=version, requested_by=actor, created_at=clock.now())
    if background:
        from embudo.scoring import tasks

        tasks.run_backtest.defer(backtest_id=backtest.pk)
    else:
        run_backtest(backtest.pk)
        backtest.refresh_from_db()
    return backtest


def run_backtest(backtest_id: int) -> Backtest:
    """Run a requested backtest (idempotent: a finished one is returned as it is)."""
    backtest = Backtest.objects.select_related("version").get(pk=backtest_id)
    if backtest.status == BacktestStatus.DONE:
        return backtest
    Backtest.objects.filter(pk=backtest.pk).update(status=BacktestStatus.RUNNING)
    started = time.perf_counter()
    try:
        results = backtest_results(backtest.version)
    except Exception as exc:
        Backtest.objects.filter(pk=backtest.pk).update(
            status=BacktestStatus.FAILED, error=str(exc)[:2000], finished_at=clock.now()
        )
        raise
    Backtest.objects.filter(pk=backtest.pk).update(
        status=BacktestStatus.DONE,
        results=results,
        finished_at=clock.now(),
        duration_s=round(time.perf_counter() - started, 3),
    )
    backtest.refresh_from_db()
    return backtest


def backtest(version_id: int) -> Backtest:
    """Synchronous backtest of ``version_id`` (a draft, usually), stored as a ``Backtest`` row."""
    return request_backtest(version_id, actor=None, background=False)


BacktestResult = Backtest


def backtest_results(version: ScoringVersion, *, sample_size: int = 50, workers: int | None = None) -> dict[str, Any]:
    """Replay ``version`` over every lead of its scope and their stored events (no writes to the ledger
    or the leads) and compare with the current scores and grades.

    The replay is one aggregation over every behaviour event, CPU-bound in one PostgreSQL process. Outside
    a transaction the scope is cut into ``workers`` lead id ranges (default :data:`WORKERS`) replayed on
    as many connections at once; their totals add up and their samples merge, so the result is the same.
    Inside a transaction (tests, a caller's atomic block) the ranges run on this connection."""
    compiled = compile_version(version)
    current = published_version(version.team_id) or published_version(None)
    current_mql = current.mql_threshold if current is not None else compiled.spec.mql_threshold
    scope = _scope_predicate(version)
    now = clock.now()
    n_workers = WORKERS if workers is None else max(1, workers)
    with connection.cursor() as cursor:
        # Split points: equal shares of the scope's leads (ids can be sparse), one index-only scan.
        cursor.execute(
            f"SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY l.id) FROM leads_lead l WHERE {scope.text}",  # noqa: S608
            [[i / n_workers for i in range(1, n_workers)], *scope.params],
        )
        row = cursor.fetchone()
    cuts = sorted({int(c) for c in (row[0] if row and row[0] else []) if c is not None})
    bounds = [None, *cuts]
    ranges = [(lo, hi) for lo, hi in zip(bounds, [*cuts, None], strict=True)]

    def part(lead_range: tuple[int | None, int | None]) -> tuple[list[Any], list[Any]]:
        return _backtest_part(compiled, scope, lead_range, now=now, current_mql=current_mql, sample_size=sample_size)

    if len(ranges) > 1 and not connection.in_atomic_block:

        def on_own_connection(lead_range: tuple[int | None, int | None]) -> tuple[list[Any], list[Any]]:
            try:
                return part(lead_range)
            finally:
                connection.close()  # this thread's connection

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(ranges)) as pool:
            parts = list(pool.map(on_own_connection, ranges))
    else:
        parts = [part(r) for r in ranges]
    totals: dict[tuple[Any, ...], list[int]] = {}
    for groups, _sample in parts:
        for *key, count, changed in groups:
            total = totals.setdefault(tuple(key), [0, 0])
            total[0] += count
            total[1] += changed
    merged_groups = [(*key, count, changed) for key, (count, changed) in totals.items()]
    # The parts' samples are each ordered like the single query's; merged, the first ``sample_size`` are its.
    samples = [r for _groups, sample in parts for r in sample]
    samples.sort(key=lambda r: (r[6] == r[7], -abs(r[5] - r[4]), r[0]))
    return summarise_backtest(merged_groups, samples[:sample_size], version=version, current=current)


def _backtest_part(
    compiled: CompiledVersion,
    scope: engine.Sql,
    lead_range: tuple[int | None, int | None],
    *,
    now: datetime,
    current_mql: int,
    sample_size: int,
) -> tuple[list[Any], list[Any]]:
    """Totals by (old grade, new grade, old MQL, new MQL, closed, won) and the largest changes, for the
    scope's leads in ``lead_range`` (bounds inclusive below, exclusive above; None is open)."""
    spec = compiled.spec
    lo, hi = lead_range
    ranged = engine.Sql(
        f"({scope.text}) AND l.id >= coalesce(%s::bigint, 0) AND l.id < coalesce(%s::bigint, 9223372036854775807)",
        [*scope.params, lo, hi],
    )
    computed = engine.computed_sql(spec, fields(), now)
    with transaction.atomic(), connection.cursor() as cursor:
        # Every behaviour event of the range is read: a sequential scan, not an index scan in type order
        # (random heap reads, 20 % slower warm and much slower from disk), and its aggregate kept in memory.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {_BACKTEST_TEMP}")
        cursor.execute(
            f"CREATE TEMP TABLE {_BACKTEST_TEMP} AS WITH scope AS (SELECT l.id AS lead_id FROM leads_lead l "  # noqa: S608
            f"WHERE {ranged.text}) SELECT lead_id, sum(points)::int AS score FROM ({computed.text}) x "
            "GROUP BY lead_id",
            ranged.params + computed.params,
        )
        # Back to the defaults: in a caller's transaction SET LOCAL would outlive this savepoint.
        for setting in ("enable_indexscan", "enable_bitmapscan", "work_mem"):
            cursor.execute(f"SET LOCAL {setting} TO DEFAULT")
        cursor.execute(f"CREATE UNIQUE INDEX ON {_BACKTEST_TEMP} (lead_id)")
        cursor.execute(f"ANALYZE {_BACKTEST_TEMP}")
        base = (
            f"SELECT l.id, l.first_name, l.last_name, l.email, l.score AS old_score, l.grade AS old_grade, "  # noqa: S608
            f"coalesce(b.score, 0) AS new_score, {engine.grade_case('coalesce(b.score, 0)')} AS new_grade, "
            "l.outcome, l.lifecycle_stage FROM leads_lead l "
            f"LEFT JOIN {_BACKTEST_TEMP} b ON b.lead_id = l.id WHERE {ranged.text}"
        )
        base_params = [spec.hot_min, spec.warm_min, *ranged.params]
        cursor.execute(
            f"SELECT t.old_grade, t.new_grade, t.old_score >= %s, t.new_score >= %s, "  # noqa: S608
            "(t.outcome IN ('won', 'lost') OR t.lifecycle_stage = 'customer'), "
            "(t.outcome = 'won' OR t.lifecycle_stage = 'customer'), count(*), "
            "count(*) FILTER (WHERE t.new_score <> t.old_score) "
            f"FROM ({base}) t GROUP BY 1, 2, 3, 4, 5, 6",
            [current_mql, spec.mql_threshold, *base_params],
        )
        groups = list(cursor.fetchall())
        cursor.execute(
            f"SELECT t.id, t.first_name, t.last_name, t.email, t.old_score, t.new_score, t.old_grade, t.new_grade "  # noqa: S608
            f"FROM ({base}) t WHERE t.old_grade <> t.new_grade OR t.old_score <> t.new_score "
            "ORDER BY (t.old_grade <> t.new_grade) DESC, abs(t.new_score - t.old_score) DESC, t.id LIMIT %s",
            [*base_params, sample_size],
        )
        sample = list(cursor.fetchall())
        cursor.execute(f"DROP TABLE IF EXISTS {_BACKTEST_TEMP}")
    return groups, sample


def summarise_backtest(
    groups: Sequence[Sequence[Any]],
    sample: Sequence[Sequence[Any]],
    *,
    version: ScoringVersion,
    current: ScoringVersion | None,
) -> dict[str, Any]:
    grades = list(domain.GRADES)
    matrix = {old: dict.fromkeys(grades, 0) for old in grades}
    leads = score_changed = mql_gained = mql_lost = 0
    hot = {"draft": [0, 0], "published": [0, 0]}  # closed, won
    for old_grade, new_grade, old_mql, new_mql, closed, won, count, changed in groups:
        leads += count
        score_changed += changed
        matrix.setdefault(old_grade, dict.fromkeys(grades, 0))
        matrix[old_grade][new_grade] = matrix[old_grade].get(new_grade, 0) + count
        if new_mql and not old_mql:
            mql_gained += count
        if old_mql and not new_mql:
            mql_lost += count
        if closed:
            if new_grade == "hot":
                hot["draft"][0] += count
                hot["draft"][1] += count if won else 0
            if old_grade == "hot":
                hot["published"][0] += count
                hot["published"][1] += count if won else 0
    grade_changes = sum(n for old, row in matrix.items() for new, n in row.items() if old != new)

    def rate(closed: int, won: int) -> float | None:
        return round(won / closed, 4) if closed else None

    return {
        "version_id": version.pk,
        "compared_with_version_id": current.pk if current is not None else None,
        "computed_at": clock.now().isoformat(),
        "leads": leads,
        "score_changed": score_changed,
        "grade_changed": grade_changes,
        "matrix": matrix,
        "mql_gained": mql_gained,
        "mql_lost": mql_lost,
        "conversion": {
            name: {"closed": closed, "won": won, "won_rate": rate(closed, won)} for name, (closed, won) in hot.items()
        },
        "sample": [
            {
                "lead_id": r[0],
                "name": f"{r[1]} {r[2]}".strip() or r[3],
                "old_score": r[4],
                "new_score": r[5],
                "old_grade": r[6],
                "new_grade": r[7],
            }
            for r in sample
        ],
    }
