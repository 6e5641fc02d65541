"""The scoring JSON API (mounted at "/"): model versions, publishing, backtests and a lead's score.

Managers, marketing and admins manage models (reps get 403); everyone reads the score of the leads
they can see, with its breakdown ("why 87?") and the ledger tail.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from embudo.accounts.models import User
from embudo.core.exceptions import PermissionDenied
from embudo.leads import selectors as lead_selectors
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.schemas import ErrorOut
from embudo.scoring import selectors, services
from embudo.scoring.models import Backtest, ScoreEntry, ScoringVersion

router = Router(tags=["scoring"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MANAGING_ROLES = ("admin", "manager", "marketing")


class ConditionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., max_length=120, description="A lead field (fit) or properties.<name> (engagement).")
    op: str = Field(..., max_length=20)
    value: Any = None


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: uuid.UUID | None = Field(None, description="Keep it when editing a rule: its contributions carry over.")
    kind: Literal["fit", "engagement"]
    label: str = Field(..., max_length=200)
    points: int
    conditions: list[ConditionIn] = []
    event_type: str = Field("", max_length=60, description="Engagement: page_view, webinar_attended, custom…")
    repeatable: bool = False
    max_points: int | None = None
    window_days: int | None = None
    decay: Literal["none", "linear", "half_life"] = "none"
    decay_days: int | None = None


class RuleOut(Schema):
    key: uuid.UUID
    kind: str
    label: str
    points: int
    conditions: list[dict[str, Any]]
    event_type: str
    repeatable: bool
    max_points: int | None
    window_days: int | None
    decay: str
    decay_days: int | None
    position: int


class RescoreOut(Schema):
    total: int
    done: int
    percent: int
    running: bool
    started_at: datetime | None
    finished_at: datetime | None


class VersionOut(Schema):
    id: int
    team_id: int | None
    number: int
    name: str
    status: str
    warm_min: int
    hot_min: int
    mql_threshold: int
    inactivity_days: int
    inactivity_points: int
    created_at: datetime
    published_at: datetime | None
    rescore: RescoreOut
    rules: list[RuleOut] | None = None


class VersionCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    team_id: int | None = None
    name: str = Field("", max_length=120)
    from_version_id: int | None = None


class VersionUpdateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=120)
    warm_min: int | None = None
    hot_min: int | None = None
    mql_threshold: int | None = None
    inactivity_days: int | None = None
    inactivity_points: int | None = None
    rules: list[RuleIn] | None = None


class BacktestOut(Schema):
    id: int
    version_id: int
    status: str
    created_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    results: dict[str, Any]
    error: str


class BreakdownLineOut(Schema):
    rule_key: uuid.UUID | None
    label: str
    kind: str
    points: int
    entries: int
    last_change: datetime | None


class EntryOut(Schema):
    id: int
    points: int
    rule_key: uuid.UUID | None
    version_id: int | None
    cause: str
    reason: str
    event_id: int | None
    created_at: datetime


class LeadScoreOut(Schema):
    lead_id: int
    score: int
    grade: str
    version_id: int | None
    breakdown: list[BreakdownLineOut]
    ledger: list[EntryOut]
    next_before_id: int | None


def _user(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not services.can_manage_scoring(user):
        raise PermissionDenied("Only managers, marketing and admins manage scoring models.")
    return user


def _version_out(version: ScoringVersion, *, with_rules: bool) -> VersionOut:
    progress = selectors.RescoreProgress(
        version.pk, version.rescore_total, version.rescore_done, version.rescore_started_at,
        version.rescore_finished_at,
    )  # fmt: skip
    rules = (
        [
            RuleOut(
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
            )  # fmt: skip
            for r in version.rules.all()
        ]
        if with_rules
        else None
    )
    return VersionOut(
        id=version.pk, team_id=version.team_id, number=version.number, name=version.name, status=version.status,
        warm_min=version.warm_min, hot_min=version.hot_min, mql_threshold=version.mql_threshold,
        inactivity_days=version.inactivity_days, inactivity_points=version.inactivity_points,
        created_at=version.created_at, published_at=version.published_at,
        rescore=RescoreOut(total=progress.total, done=progress.done, percent=progress.percent,
                           running=progress.running, started_at=progress.started_at,
                           finished_at=progress.finished_at),
        rules=rules,
    )  # fmt: skip


def _get_version(version_id: int) -> ScoringVersion:
    version = selectors.get_version(version_id)
    if version is None:
        raise services.VersionNotFound("No such scoring version.")
    return version


def _backtest_out(backtest: Backtest) -> BacktestOut:
    return BacktestOut(
        id=backtest.pk, version_id=backtest.version_id, status=backtest.status, created_at=backtest.created_at,
        finished_at=backtest.finished_at, duration_s=backtest.duration_s, results=backtest.results,
        error=backtest.error,
    )  # fmt: skip


@router.get("/scoring/versions", response={200: list[VersionOut], **ERRORS}, summary="Scoring model versions")
def list_versions(request: HttpRequest) -> list[VersionOut]:
    _manager(request)
    return [_version_out(v, with_rules=False) for v in selectors.list_versions()]


@router.post("/scoring/versions", response={201: VersionOut, **ERRORS}, summary="Create a draft")
def create_version(request: HttpRequest, payload: VersionCreateIn) -> Status:
    user = _manager(request)
    draft = services.create_draft(
        actor=user, team_id=payload.team_id, from_version_id=payload.from_version_id, name=payload.name
    )
    return Status(201, _version_out(_get_version(draft.pk), with_rules=True))


@router.get("/scoring/versions/{version_id}", response={200: VersionOut, **ERRORS}, summary="A version and its rules")
def get_version(request: HttpRequest, version_id: int) -> VersionOut:
    _manager(request)
    return _version_out(_get_version(version_id), with_rules=True)


@router.post(
    "/scoring/versions/{version_id}/draft", response={201: VersionOut, **ERRORS}, summary="Copy to a new draft"
)
def copy_version(request: HttpRequest, version_id: int) -> Status:
    user = _manager(request)
    draft = services.create_draft(actor=user, from_version_id=version_id)
    return Status(201, _version_out(_get_version(draft.pk), with_rules=True))


@router.put("/scoring/versions/{version_id}", response={200: VersionOut, **ERRORS}, summary="Edit a draft")
def update_version(request: HttpRequest, version_id: int, payload: VersionUpdateIn) -> VersionOut:
    user = _manager(request)
    rules = None
    if payload.rules is not None:
        rules = [
            {
                **r.model_dump(exclude={"conditions", "key"}),
                "key": str(r.key) if r.key else None,
                "conditions": [c.model_dump() for c in r.conditions],
            }  # fmt: skip
            for r in payload.rules
        ]
    services.update_draft(
        version_id, actor=user, name=payload.name, warm_min=payload.warm_min, hot_min=payload.hot_min,
        mql_threshold=payload.mql_threshold, inactivity_days=payload.inactivity_days,
        inactivity_points=payload.inactivity_points, rules=rules,
    )  # fmt: skip
    return _version_out(_get_version(version_id), with_rules=True)


@router.post(
    "/scoring/versions/{version_id}/publish",
    response={200: VersionOut, **ERRORS},
    summary="Publish a draft (rescores its leads in the background; poll rescore)",
)
def publish_version(request: HttpRequest, version_id: int) -> VersionOut:
    user = _manager(request)
    services.publish(version_id, actor=user)
    return _version_out(_get_version(version_id), with_rules=True)


@router.post(
    "/scoring/versions/{version_id}/backtest",
    response={202: BacktestOut, **ERRORS},
    summary="Backtest a version against the published one (runs in the background)",
)
def backtest_version(request: HttpRequest, version_id: int) -> Status:
    user = _manager(request)
    backtest = services.request_backtest(version_id, actor=user)
    return Status(202, _backtest_out(backtest))


@router.get("/scoring/backtests/{backtest_id}", response={200: BacktestOut, **ERRORS}, summary="A backtest")
def get_backtest(request: HttpRequest, backtest_id: int) -> BacktestOut:
    _manager(request)
    backtest = selectors.get_backtest(backtest_id)
    if backtest is None:
        raise services.BacktestNotFound("No such backtest.")
    return _backtest_out(backtest)


def _entry_out(e: ScoreEntry) -> EntryOut:
    return EntryOut(id=e.pk, points=e.points, rule_key=e.rule_key, version_id=e.version_id, cause=e.cause,
                    reason=e.reason, event_id=e.event_id, created_at=e.created_at)  # fmt: skip


@router.get("/leads/{lead_id}/score", response={200: LeadScoreOut, **ERRORS}, summary="A lead's score, explained")
def lead_score(request: HttpRequest, lead_id: int, before_id: int | None = None, limit: int = 20) -> LeadScoreOut:
    lead = lead_selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise LeadNotFound("No such lead.")
    version = selectors.version_for_lead(lead.team_id)
    entries = selectors.ledger_page(lead_id, before_id=before_id, limit=limit)
    return LeadScoreOut(
        lead_id=lead.pk,
        score=lead.score,
        grade=lead.grade,
        version_id=version.pk if version else None,
        breakdown=[BreakdownLineOut(**line.__dict__) for line in selectors.explain(lead_id)],
        ledger=[_entry_out(e) for e in entries],
        next_before_id=entries[-1].pk if len(entries) == max(1, min(limit, 500)) else None,
    )
