"""Routing JSON API (mounted at "/"): rule sets, pools, previews and lead assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from embudo.accounts.models import User
from embudo.leads import selectors as leads_selectors
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.schemas import ErrorOut
from embudo.routing import selectors, services
from embudo.routing.exceptions import PoolNotFound, RoutingNotAllowed, RuleSetNotFound
from embudo.routing.models import Assignment, Pool, RoutingRule, RuleSet

router = Router(tags=["routing"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _configurer(request: HttpRequest) -> User:
    user = _user(request)
    if not services.can_configure(user):
        raise RoutingNotAllowed("Only admins and managers can see and change routing.")
    return user


# --- schemas ---------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    position: int
    name: str
    conditions: list[dict[str, Any]]
    action: str
    user_id: int | None
    pool_id: int | None
    team_id: int | None
    active: bool


class RuleSetSummaryOut(Schema):
    id: int
    team_id: int | None
    number: int
    name: str
    status: str
    published_at: datetime | None
    updated_at: datetime


class RuleSetOut(RuleSetSummaryOut):
    default_action: str
    default_user_id: int | None
    default_pool_id: int | None
    default_team_id: int | None
    copied_from_id: int | None
    rules: list[RuleOut]


class RuleSetCreateIn(Schema):
    team_id: int | None = None
    name: str = ""


class RuleSetIn(Schema):
    """A partial update of a draft; ``rules`` replaces the whole ordered list."""

    name: str | None = None
    default_action: str | None = None
    default_user_id: int | None = None
    default_pool_id: int | None = None
    default_team_id: int | None = None
    rules: list[dict[str, Any]] | None = None


class PreviewIn(Schema):
    lead_id: int


class CandidateOut(Schema):
    user_id: int
    member_id: int | None
    name: str
    status: str
    weight: int = 1
    open_leads: int | None = None
    capacity: int | None = None


class RuleCheckOut(Schema):
    rule_id: int
    name: str
    matched: bool
    failed: list[str]


class PreviewOut(Schema):
    lead_id: int
    rule_set_id: int | None
    rule_id: int | None
    rule_name: str
    action: str
    pool_id: int | None
    pool_name: str
    owner_id: int | None
    owner_name: str
    team_id: int | None
    outcome: str
    reason: str
    candidates: list[CandidateOut]
    checks: list[RuleCheckOut]


class MemberOut(Schema):
    id: int
    user_id: int
    name: str
    weight: int
    skills: list[str]
    languages: list[str]
    capacity: int | None
    active: bool
    assigned_count: int


class PoolOut(Schema):
    id: int
    name: str
    team_id: int | None
    strategy: str
    required_skills: list[str]
    match_language: bool
    fallback: str
    fallback_user_id: int | None
    active: bool
    members: list[MemberOut]


class PoolIn(Schema):
    name: str | None = None
    team_id: int | None = None
    strategy: str | None = None
    required_skills: list[str] | None = None
    match_language: bool | None = None
    fallback: str | None = None
    fallback_user_id: int | None = None
    active: bool | None = None
    members: list[dict[str, Any]] | None = None


class MembersIn(Schema):
    members: list[dict[str, Any]]


class AssignmentOut(Schema):
    id: int
    user_id: int | None
    user_name: str
    previous_owner_id: int | None
    team_id: int | None
    pool_id: int | None
    pool_name: str
    rule_id: int | None
    rule_name: str
    rule_set_id: int | None
    rule_set_number: int | None
    kind: str
    outcome: str
    trigger: str
    reason: str
    candidates: list[dict[str, Any]]
    actor_id: int | None
    created_at: datetime


class SpeedOut(Schema):
    received_at: datetime | None
    stored_at: datetime | None
    scored_at: datetime | None
    assigned_at: datetime | None
    notified_at: datetime | None
    first_touch_at: datetime | None


class LeadAssignmentOut(Schema):
    lead_id: int
    owner_id: int | None
    team_id: int | None
    latest: AssignmentOut | None
    history: list[AssignmentOut]
    speed: SpeedOut | None


class AssignIn(Schema):
    user_id: int | None
    reason: str


# --- conversions -----------------------------------------------------------------------------------


def _rule_out(rule: RoutingRule) -> RuleOut:
    return RuleOut(
        id=rule.pk, position=rule.position, name=rule.name, conditions=list(rule.conditions or []),
        action=rule.action, user_id=rule.user_id, pool_id=rule.pool_id, team_id=rule.team_id, active=rule.active,
    )  # fmt: skip


def _rule_set_out(rule_set: RuleSet) -> RuleSetOut:
    return RuleSetOut(
        id=rule_set.pk,
        team_id=rule_set.team_id,
        number=rule_set.number,
        name=rule_set.name,
        status=rule_set.status,
        published_at=rule_set.published_at,
        updated_at=rule_set.updated_at,
        default_action=rule_set.default_action,
        default_user_id=rule_set.default_user_id,
        default_pool_id=rule_set.default_pool_id,
        default_team_id=rule_set.default_team_id,
        copied_from_id=rule_set.copied_from_id,
        rules=[_rule_out(r) for r in rule_set.rules.all()],
    )


def _pool_out(pool: Pool) -> PoolOut:
    return PoolOut(
        id=pool.pk,
        name=pool.name,
        team_id=pool.team_id,
        strategy=pool.strategy,
        required_skills=list(pool.required_skills or []),
        match_language=pool.match_language,
        fallback=pool.fallback,
        fallback_user_id=pool.fallback_user_id,
        active=pool.active,
        members=[
            MemberOut(
                id=m.pk,
                user_id=m.user_id,
                name=m.user.display_name,
                weight=m.weight,
                skills=list(m.skills or []),
                languages=list(m.languages or []),
                capacity=m.capacity,
                active=m.active,
                assigned_count=m.assigned_count,
            )  # fmt: skip
            for m in pool.members.all()
        ],
    )


def _assignment_out(a: Assignment) -> AssignmentOut:
    return AssignmentOut(
        id=a.pk,
        user_id=a.user_id,
        user_name=a.user.display_name if a.user else "",
        previous_owner_id=a.previous_owner_id,
        team_id=a.team_id,
        pool_id=a.pool_id,
        pool_name=a.pool.name if a.pool else "",
        rule_id=a.rule_id,
        rule_name=a.rule_name,
        rule_set_id=a.rule_set_id,
        rule_set_number=a.rule_set_number,
        kind=a.kind,
        outcome=a.outcome,
        trigger=a.trigger,
        reason=a.reason,
        candidates=list(a.candidates or []),
        actor_id=a.actor_id,
        created_at=a.created_at,
    )


def _get_rule_set(rule_set_id: int) -> RuleSet:
    rule_set = selectors.get_rule_set(rule_set_id)
    if rule_set is None:
        raise RuleSetNotFound("Rule set not found.")
    return rule_set


def _get_pool(pool_id: int) -> Pool:
    pool = selectors.get_pool(pool_id)
    if pool is None:
        raise PoolNotFound("Pool not found.")
    return pool


# --- rule sets -------------------------------------------------------------------------------------


@router.get("/routing/rule-sets", response={200: list[RuleSetSummaryOut], **ERRORS}, summary="Routing rule sets")
def list_rule_sets(request: HttpRequest) -> list[RuleSet]:
    _configurer(request)
    return selectors.list_rule_sets()


@router.post("/routing/rule-sets", response={201: RuleSetOut, **ERRORS}, summary="Start a rule set draft")
def create_rule_set(request: HttpRequest, payload: RuleSetCreateIn) -> Status:
    """A draft for a scope (a team, or global): a copy of its published rule set, or an empty one."""
    actor = _configurer(request)
    rule_set = services.create_rule_set(actor=actor, team_id=payload.team_id, name=payload.name)
    return Status(201, _rule_set_out(_get_rule_set(rule_set.pk)))


@router.get("/routing/rule-sets/{int:rule_set_id}", response={200: RuleSetOut, **ERRORS}, summary="A rule set")
def get_rule_set(request: HttpRequest, rule_set_id: int) -> RuleSetOut:
    _configurer(request)
    return _rule_set_out(_get_rule_set(rule_set_id))


@router.put("/routing/rule-sets/{int:rule_set_id}", response={200: RuleSetOut, **ERRORS}, summary="Edit a draft")
def update_rule_set(request: HttpRequest, rule_set_id: int, payload: RuleSetIn) -> RuleSetOut:
    """Only drafts (409 otherwise). Errors are keyed like `rules.2.conditions.0.value`."""
    actor = _configurer(request)
    rule_set = services.update_draft(actor=actor, rule_set_id=rule_set_id, data=payload.dict(exclude_unset=True))
    return _rule_set_out(rule_set)


@router.post(
    "/routing/rule-sets/{int:rule_set_id}/draft", response={201: RuleSetOut, **ERRORS}, summary="Copy into a draft"
)
def create_draft(request: HttpRequest, rule_set_id: int) -> Status:
    actor = _configurer(request)
    draft = services.create_draft(actor=actor, rule_set_id=rule_set_id)
    return Status(201, _rule_set_out(_get_rule_set(draft.pk)))


@router.post(
    "/routing/rule-sets/{int:rule_set_id}/publish", response={200: RuleSetOut, **ERRORS}, summary="Publish a draft"
)
def publish_rule_set(request: HttpRequest, rule_set_id: int) -> RuleSetOut:
    actor = _configurer(request)
    services.publish_rule_set(actor=actor, rule_set_id=rule_set_id)
    return _rule_set_out(_get_rule_set(rule_set_id))


@router.post(
    "/routing/rule-sets/{int:rule_set_id}/preview",
    response={200: PreviewOut, **ERRORS},
    summary="Test a rule set on a lead",
)
def preview(request: HttpRequest, rule_set_id: int, payload: PreviewIn) -> PreviewOut:
    """Which rule matches, which conditions failed for the others, who would be picked and why. No writes."""
    actor = _configurer(request)
    if leads_selectors.get_lead_visible_to(actor, payload.lead_id) is None:
        raise LeadNotFound("Lead not found.", fields={"lead_id": ["Unknown lead."]})
    result = services.preview(lead_id=payload.lead_id, rule_set_id=rule_set_id)
    d = result.decision
    return PreviewOut(
        lead_id=result.lead_id,
        rule_set_id=d.rule_set_id,
        rule_id=d.rule_id,
        rule_name=d.rule_name,
        action=d.action,
        pool_id=d.pool_id,
        pool_name=d.pool_name,
        owner_id=d.owner_id,
        owner_name=d.owner_name,
        team_id=d.team_id,
        outcome=d.outcome,
        reason=d.reason,
        candidates=[CandidateOut(**c.as_dict()) for c in d.candidates],
        checks=[
            RuleCheckOut(rule_id=c.rule_id, name=c.name, matched=c.matched, failed=c.failed) for c in result.checks
        ],
    )


# --- pools -----------------------------------------------------------------------------------------


@router.get("/routing/pools", response={200: list[PoolOut], **ERRORS}, summary="Pools of reps")
def list_pools(request: HttpRequest) -> list[PoolOut]:
    _configurer(request)
    return [_pool_out(p) for p in selectors.list_pools()]


@router.post("/routing/pools", response={201: PoolOut, **ERRORS}, summary="Create a pool")
def create_pool(request: HttpRequest, payload: PoolIn) -> Status:
    actor = _configurer(request)
    pool = services.create_pool(actor=actor, data=payload.dict(exclude_unset=True))
    return Status(201, _pool_out(_get_pool(pool.pk)))


@router.get("/routing/pools/{int:pool_id}", response={200: PoolOut, **ERRORS}, summary="A pool")
def get_pool(request: HttpRequest, pool_id: int) -> PoolOut:
    _configurer(request)
    return _pool_out(_get_pool(pool_id))


@router.put("/routing/pools/{int:pool_id}", response={200: PoolOut, **ERRORS}, summary="Edit a pool")
def update_pool(request: HttpRequest, pool_id: int, payload: PoolIn) -> PoolOut:
    """Partial; `members` (if given) replaces the members."""
    actor = _configurer(request)
    services.update_pool(actor=actor, pool_id=pool_id, data=payload.dict(exclude_unset=True))
    return _pool_out(_get_pool(pool_id))


@router.put("/routing/pools/{int:pool_id}/members", response={200: PoolOut, **ERRORS}, summary="Set members")
def set_members(request: HttpRequest, pool_id: int, payload: MembersIn) -> PoolOut:
    """`[{user_id, weight, skills, languages, capacity, active}]`; members who stay keep their state."""
    actor = _configurer(request)
    services.set_members(actor=actor, pool_id=pool_id, members=payload.members)
    return _pool_out(_get_pool(pool_id))


# --- lead assignment -------------------------------------------------------------------------------


def _lead_assignment(request: HttpRequest, lead_id: int) -> LeadAssignmentOut:
    lead = leads_selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise LeadNotFound("Lead not found.")
    view = selectors.assignments_of(lead_id)
    speed = selectors.speed_of(lead_id)
    return LeadAssignmentOut(
        lead_id=lead.pk,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        latest=_assignment_out(view.latest) if view.latest else None,
        history=[_assignment_out(a) for a in view.history],
        speed=SpeedOut.from_orm(speed) if speed else None,
    )


@router.get(
    "/leads/{int:lead_id}/assignment", response={200: LeadAssignmentOut, **ERRORS}, summary="Why a lead has its owner"
)
def get_assignment(request: HttpRequest, lead_id: int) -> LeadAssignmentOut:
    """The latest assignment and the history, each with every candidate considered and why it was skipped."""
    return _lead_assignment(request, lead_id)


@router.post("/leads/{int:lead_id}/assign", response={200: LeadAssignmentOut, **ERRORS}, summary="Assign by hand")
def assign(request: HttpRequest, lead_id: int, payload: AssignIn) -> LeadAssignmentOut:
    """Managers of the lead's team and admins; `user_id` null puts the lead back in the team queue."""
    actor = _user(request)
    if leads_selectors.get_lead_visible_to(actor, lead_id) is None:
        raise LeadNotFound("Lead not found.")
    services.assign_manually(lead_id=lead_id, user_id=payload.user_id, actor=actor, reason=payload.reason)
    return _lead_assignment(request, lead_id)
