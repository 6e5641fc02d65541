"""Scoring reads: versions, rescore progress, backtests, "why this score" and the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from embudo.scoring.domain import rules as domain
from embudo.scoring.models import Backtest, ScoreEntry, ScoringRule, ScoringVersion, VersionStatus


def list_versions(*, team_id: int | None = None, all_scopes: bool = True) -> QuerySet[ScoringVersion]:
    versions = ScoringVersion.objects.select_related("team", "created_by", "published_by")
    if not all_scopes:
        versions = versions.filter(Q(team__isnull=True) if team_id is None else Q(team_id=team_id))
    return versions.order_by("team_id", "-number")


def get_version(version_id: int) -> ScoringVersion | None:
    return (
        ScoringVersion.objects.select_related("team", "created_by", "published_by")
        .prefetch_related("rules")
        .filter(pk=version_id)
        .first()
    )


def published_version(team_id: int | None) -> ScoringVersion | None:
    scope = Q(team__isnull=True) if team_id is None else Q(team_id=team_id)
    return ScoringVersion.objects.filter(scope, status=VersionStatus.PUBLISHED).first()


def version_for_lead(team_id: int | None) -> ScoringVersion | None:
    """The version that scores a lead of ``team_id``: its team's published one, else the global one."""
    if team_id is not None:
        version = published_version(team_id)
        if version is not None:
            return version
    return published_version(None)


@dataclass(frozen=True)
class RescoreProgress:
    version_id: int
    total: int
    done: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.finished_at is None

    @property
    def percent(self) -> int:
        if self.finished_at is not None:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


def rescore_progress(version_id: int) -> RescoreProgress | None:
    """For the progress bar after publishing (poll it)."""
    row = (
        ScoringVersion.objects.filter(pk=version_id)
        .values("rescore_total", "rescore_done", "rescore_started_at", "rescore_finished_at")
        .first()
    )
    if row is None:
        return None
    return RescoreProgress(
        version_id=version_id,
        total=row["rescore_total"],
        done=row["rescore_done"],
        started_at=row["rescore_started_at"],
        finished_at=row["rescore_finished_at"],
    )


def get_backtest(backtest_id: int) -> Backtest | None:
    return Backtest.objects.select_related("version").filter(pk=backtest_id).first()


def latest_backtest(version_id: int) -> Backtest | None:
    return Backtest.objects.filter(version_id=version_id).order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class ExplainLine:
    rule_key: uuid.UUID | None
    label: str
    kind: str
    points: int
    entries: int
    last_change: datetime | None


def explain(lead_id: int) -> list[ExplainLine]:
    """ "Why this score": one line per rule that contributes now or has ledger entries (largest first).
    ``points`` are the rule's current contribution; their sum is the lead's score."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(c.rule_key, e.rule_key), coalesce(c.points, 0), coalesce(e.n, 0), e.last, c.version_id "
            "FROM (SELECT rule_key, points, version_id FROM scoring_scorecontribution WHERE lead_id = %s) c "
            "FULL JOIN (SELECT rule_key, count(*) AS n, max(created_at) AS last FROM scoring_scoreentry "
            "WHERE lead_id = %s GROUP BY rule_key) e ON e.rule_key = c.rule_key",
            [lead_id, lead_id],
        )
        rows = cursor.fetchall()
    keys = [r[0] for r in rows if r[0] is not None]
    rules: dict[uuid.UUID, ScoringRule] = {}
    for rule in ScoringRule.objects.filter(key__in=keys).order_by("version_id"):
        rules[rule.key] = rule  # the latest version's label wins
    lines: list[ExplainLine] = []
    for key, points, entries, last, _version in rows:
        if key == domain.INACTIVITY_KEY:
            label, kind = _("No recent activity"), "inactivity"
        elif key is None:
            label, kind = _("Adjustments"), "other"
        elif key in rules:
            label, kind = rules[key].label, rules[key].kind
        else:
            label, kind = _("Deleted rule"), "other"
        lines.append(ExplainLine(key, label, kind, int(points), int(entries), last))
    lines.sort(key=lambda line: (-abs(line.points), line.label))
    return lines


def ledger_page(lead_id: int, *, before_id: int | None = None, limit: int = 50) -> list[ScoreEntry]:
    """The raw ledger, most recent first; pass the last entry's id as ``before_id`` for the next page."""
    entries = ScoreEntry.objects.filter(lead_id=lead_id)
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return list(entries.order_by("-id")[: max(1, min(limit, 500))])


def ledger_total(lead_id: int) -> int:
    from django.db.models import Sum

    total: Any = ScoreEntry.objects.filter(lead_id=lead_id).aggregate(total=Sum("points"))["total"]
    return int(total or 0)
