"""Routing writes: assignments, pools' round-robin state, rule sets, pools, schedules, speed-to-lead marks.

Interface used by other contexts (keep these signatures):

- :func:`route_at_intake` assigns a just captured lead, in the intake transaction;
- :func:`route_lead` (hot lead, re-route), :func:`reassign_to_next_eligible` (SLA escalation),
  :func:`assign_manually` (managers), :func:`mark_speed` (speed-to-lead marks, first value wins);
- :func:`preview` answers "which rule, which rep, why" without writing anything.

How a lead is routed: the published rule set of the lead's team (else the global one) is evaluated in
Python on ``leads.condition_fields.record_of(lead)`` plus ``form`` and ``product``; the first matching
rule's action (else the default) names a user, a pool, the account owner or the queue. A pool is
locked (``SELECT … FOR UPDATE`` on its row) while its members are read as one eligibility snapshot
and the smooth weighted round-robin state is advanced, so concurrent intakes never pick the same "next"
twice. Nobody eligible → the pool's fallback (manager or queue) and an alert to the team's managers.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, gettext_lazy

from embudo.accounts.models import Team, User
from embudo.core import clock, rows
from embudo.core import events as core_events
from embudo.core.domain import conditions as cond
from embudo.core.sqlparams import array_or_nulls, jsonb, jsonb_array, text_array
from embudo.leads import condition_fields
from embudo.leads.models import Company, Lead
from embudo.notifications import selectors as notifications_selectors
from embudo.notifications import services as notifications_services
from embudo.routing import selectors
from embudo.routing.domain import eligibility, fairness
from embudo.routing.domain import rules as rules_domain
from embudo.routing.domain.schedule import ScheduleError, parse_hours, valid_time_zone
from embudo.routing.events import LeadAssigned
from embudo.routing.exceptions import (
    InvalidRouting,
    NotADraft,
    PoolNotFound,
    RoutingNotAllowed,
    RuleSetNotFound,
)
from embudo.routing.models import (
    ActionKind,
    Assignment,
    AssignmentKind,
    AssignmentOutcome,
    Fallback,
    OutOfOffice,
    Pool,
    PoolMember,
    PoolStrategy,
    RepSchedule,
    RoutingRule,
    RuleSet,
    RuleSetStatus,
)
from embudo.sla import selectors as sla_selectors
from embudo.sla import services as sla_services
from embudo.sla.models import SlaPolicy

MAX_RULES = 200
SPEED_MARKS = ("received", "stored", "scored", "assigned", "notified", "first_touch")


@dataclass(frozen=True)
class RoutingResult:
    lead_id: int
    owner_id: int | None
    team_id: int | None
    assignment_id: int | None
    owner_contact: tuple[str, str] | None = None  # (email, full name) when routing read them (a pool pick)


@dataclass(frozen=True)
class CandidateView:
    """One rep considered: ``status`` is "chosen", "eligible" or a skip reason (eligibility.SKIP_REASONS)."""

    user_id: int
    member_id: int | None
    name: str
    status: str
    weight: int = 1
    open_leads: int | None = None
    capacity: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "member_id": self.member_id,
            "name": self.name,
            "status": self.status,
            "weight": self.weight,
            "open_leads": self.open_leads,
            "capacity": self.capacity,
        }


@dataclass(frozen=True)
class Decision:
    """What routing decided for one lead (also the body of a preview)."""

    rule_set_id: int | None
    rule_set_number: int | None
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
    candidates: list[CandidateView] = field(default_factory=list)
    # The owner's channels and language for the "lead assigned" notice when the pool snapshot read them.
    owner_recipient: notifications_selectors.Recipient | None = None
    # The owner's (email, full name) when the pool snapshot read them: the intake's answer shows them.
    owner_contact: tuple[str, str] | None = None
    # The pick's write to its pool, for _apply to run with the owner update (None: nothing picked, or written).
    pool_state_write: PoolStateWrite | None = None


@dataclass(frozen=True)
class Preview:
    """``checks``: every rule with whether it matched and the conditions that failed."""

    lead_id: int
    decision: Decision
    checks: list[rules_domain.RuleCheck]


# --- permissions -----------------------------------------------------------------------------------


def can_configure(user: User) -> bool:
    """Admins and managers edit rule sets, pools, schedules and out-of-office periods."""
    return user.is_active and user.role in ("admin", "manager")


def _require_configure(actor: User) -> None:
    if not can_configure(actor):
        raise RoutingNotAllowed("Only admins and managers can change routing.")


def can_assign(user: User, lead: Lead) -> bool:
    """Admins, and managers of the lead's team (or of an unteamed lead), assign by hand."""
    if not user.is_active:
        return False
    if user.role == "admin":
        return True
    if user.role != "manager":
        return False
    if lead.team_id is None:
        return True
    return user.teams.filter(pk=lead.team_id).exists()


# --- speed to lead ---------------------------------------------------------------------------------

_SPEED_COLUMNS = {f"{m}_at" for m in SPEED_MARKS} | {"team_id", "source", "owner_id"}
_SPEED_TYPES = {"lead_id": "bigint", "team_id": "bigint", "owner_id": "bigint", "source": "text"}  # else timestamptz


def mark_speed(lead_id: int, **marks: Any) -> None:
    """Record speed-to-lead marks (``received``, ``stored``, ``scored``, ``assigned``, ``notified``,
    ``first_touch`` — with or without the ``_at`` suffix — plus ``team_id``, ``source``, ``owner_id``).

    First value wins: a mark already set is never overwritten (one upsert, concurrency-safe).
    """
    mark_speed_many([(lead_id, marks)])


def _speed_values(marks: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in marks.items():
        column = key if key in _SPEED_COLUMNS else f"{key}_at"
        if column not in _SPEED_COLUMNS:
            raise ValueError(f"Unknown speed-to-lead mark {key!r}.")
        if value is not None and value != "":
            values[column] = value
    return values


def mark_speed_many(marks_of: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """``mark_speed`` for several distinct leads: one upsert per set of marks given (usually one)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for lead_id, marks in marks_of:
        values = _speed_values(marks)
        if values:
            groups.setdefault(tuple(sorted(values)), []).append((lead_id, values))
    for columns, marked in groups.items():
        _upsert_speed(list(columns), marked)


def _upsert_speed(columns: list[str], rows: list[tuple[int, dict[str, Any]]]) -> None:
    updates = ", ".join(f"{c} = coalesce(routing_speedtolead.{c}, EXCLUDED.{c})" for c in columns)
    if "source" in columns:
        updates = updates.replace(
            "source = coalesce(routing_speedtolead.source, EXCLUDED.source)",
            "source = coalesce(nullif(routing_speedtolead.source, ''), EXCLUDED.source)",
        )
    all_columns = ["lead_id", *columns]
    if "source" not in columns:
        all_columns.append("source")
    arrays = [[lead_id for lead_id, _ in rows], *([values[c] for _, values in rows] for c in columns)]
    if "source" not in columns:
        arrays.append([""] * len(rows))
    types = ", ".join(f"%s::{_SPEED_TYPES.get(c, 'timestamptz')}[]" for c in all_columns)
    with connection.cursor() as cursor:
        # Column names come from _SPEED_COLUMNS only; values are parameters (one array per column: the same
        # statement, prepared once, for one lead or a batch).
        sql = (
            f"INSERT INTO routing_speedtolead ({', '.join(all_columns)}) SELECT * FROM unnest({types}) "  # noqa: S608
            f"ON CONFLICT (lead_id) DO UPDATE SET {updates}"
        )
        cursor.execute(sql, [array_or_nulls(values) for values in arrays])  # literals: see core.sqlparams


# --- routing ---------------------------------------------------------------------------------------


def _parse_rule(rule: RoutingRule) -> rules_domain.Rule:
    try:
        conditions = tuple(cond.parse(rule.conditions or []))
    except cond.ConditionError:
        conditions = (cond.Condition("__invalid__", "present"),)  # a broken rule never matches
    return rules_domain.Rule(
        id=rule.pk,
        name=rule.name,
        conditions=conditions,
        action=rule.action,
        user_id=rule.user_id,
        pool_id=rule.pool_id,
        team_id=rule.team_id,
    )


# Parsed rules of published rule sets by id: a published rule set is never edited (drafts are copies).
_PUBLISHED_RULES: dict[int, list[rules_domain.Rule]] = {}
_PUBLISHED_RULES_MAX = 64


def _rules_of(rule_set: RuleSet) -> list[rules_domain.Rule]:
    if rule_set.status != RuleSetStatus.PUBLISHED:
        return [_parse_rule(r) for r in rule_set.rules.all() if r.active]
    cached = _PUBLISHED_RULES.get(rule_set.pk)
    if cached is None:
        cached = [_parse_rule(r) for r in selectors.active_rules(rule_set.pk)]
        if len(_PUBLISHED_RULES) >= _PUBLISHED_RULES_MAX:
            _PUBLISHED_RULES.clear()
        _PUBLISHED_RULES[rule_set.pk] = cached
    return cached


def _record(lead: Lead, rules: Sequence[rules_domain.Rule], *, form_id: int | None = None) -> dict[str, Any]:
    record = condition_fields.record_of(lead)
    record["product"] = (lead.custom_fields or {}).get("product")
    if any(c.field == "form" for r in rules for c in r.conditions):
        record["form"] = (selectors.form_slug(form_id) if form_id else "") or selectors.form_slug_of(lead.pk)
    return record


def _candidate_view(c: eligibility.Candidate, status: str) -> CandidateView:
    return CandidateView(
        user_id=c.user_id,
        member_id=c.member_id,
        name=c.name,
        status=status,
        weight=c.weight,
        open_leads=c.open_leads,
        capacity=c.capacity,
    )


@dataclass
class _PoolPick:
    user_id: int | None
    user_name: str
    candidates: list[CandidateView]
    recipient: notifications_selectors.Recipient | None = None
    state_write: PoolStateWrite | None = None
    contact: tuple[str, str] | None = None


@dataclass(frozen=True)
class PoolStateWrite:
    """A pick's write to its pool: the fair-share state, and the chosen member's counters."""

    pool_id: int
    state_json: str
    member_id: int
    at: datetime

    # One statement (data-modifying CTEs); ``_apply`` prefixes it to the lead's owner update.
    CTES = (
        "WITH pool_state AS (UPDATE routing_pool SET rr_state = %s::jsonb WHERE id = %s), "
        "member_counts AS (UPDATE routing_poolmember SET assigned_count = assigned_count + 1, last_assigned_at = %s "
        "WHERE id = %s) "
    )

    def params(self) -> list[Any]:
        return [self.state_json, self.pool_id, self.at, self.member_id]


def _pick_from_pool(
    pool: Pool,
    lead: Lead,
    *,
    exclude_user_ids: Sequence[int] = (),
    commit: bool = True,
    defer_write: bool = False,
    snapshot: selectors.PoolSnapshot | None = None,
) -> _PoolPick:
    """Choose the next eligible member of ``pool`` (locked by the caller when ``commit``).

    ``defer_write``: return the pool's write (``state_write``) instead of running it, for ``_apply`` to run
    it with the lead's owner update, one statement less while the pool's lock is held. ``snapshot``: the
    members as the caller has them (``_route_together`` keeps one per pool, up to date with its own picks)."""
    now = clock.now()
    if snapshot is None:
        snapshot = selectors.pool_snapshot(pool, at=now)
    candidates = snapshot.candidates
    requirements = eligibility.Requirements(
        skills=eligibility.normalise_tags(pool.required_skills or ()),
        language=(lead.language or "").strip().lower() if pool.match_language else "",
        exclude_user_ids=frozenset(exclude_user_ids),
    )
    reasons = {c.member_id: eligibility.skip_reason(c, requirements) for c in candidates}
    eligible = [c for c in candidates if reasons[c.member_id] is None]
    state = {int(k): float(v) for k, v in (pool.rr_state or {}).items()}
    pick = fairness.choose(pool.strategy, eligible, state)
    chosen = next((c for c in eligible if c.member_id == pick.member_id), None)
    views = [_candidate_view(c, "chosen" if chosen is c else (reasons[c.member_id] or "eligible")) for c in candidates]
    if chosen is None:
        return _PoolPick(None, "", views)
    state_write: PoolStateWrite | None = None
    if commit:
        pruned = {str(k): v for k, v in fairness.prune_state(pick.state, [c.member_id for c in candidates]).items()}
        state_write = PoolStateWrite(pool.pk, _json(pruned), chosen.member_id, now)
        pool.rr_state = pruned
        if not defer_write:
            with connection.cursor() as cursor:
                cursor.execute(PoolStateWrite.CTES + "SELECT 1", state_write.params())
            state_write = None
    return _PoolPick(chosen.user_id, chosen.name, views, snapshot.recipients.get(chosen.user_id), state_write,
                     snapshot.contacts.get(chosen.user_id))  # fmt: skip


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _lock_pool(pool_id: int | None) -> Pool | None:
    if pool_id is None:
        return None
    # Plain SQL (``core.rows``): every routed lead locks its pool; the ORM's compilation cost ~1 ms here.
    plan = rows.row_plan(Pool, "p")
    with connection.cursor() as cursor:
        sql = f"SELECT {plan.columns} FROM routing_pool p WHERE p.id = %s FOR UPDATE"  # noqa: S608 - model columns
        cursor.execute(sql, [pool_id])
        row = cursor.fetchone()
    return rows.instance_from_row(plan, row) if row is not None else None


def _get_pool(pool_id: int | None) -> Pool | None:
    return Pool.objects.filter(pk=pool_id).first() if pool_id is not None else None


def _account_owner(lead: Lead) -> tuple[int | None, str]:
    if lead.company_id is None:
        return None, ""
    row = (
        Lead.objects.filter(company_id=lead.company_id, owner__isnull=False, owner__is_active=True)
        .exclude(pk=lead.pk)
        .order_by("-created_at", "-id")
        .values_list("owner_id", "owner__full_name", "owner__email")
        .first()
    )
    if row is None:
        return None, ""
    return row[0], row[1] or row[2]


def _user_name(user_id: int | None) -> tuple[bool, str]:
    if user_id is None:
        return False, ""
    row = User.objects.filter(pk=user_id).values_list("is_active", "full_name", "email").first()
    if row is None:
        return False, ""
    return bool(row[0]), row[1] or row[2]


def _decide(
    lead: Lead,
    *,
    rule_set: RuleSet | None,
    commit: bool,
    exclude_user_ids: Sequence[int] = (),
    pool_override: Pool | None = None,
    form_id: int | None = None,
    explain: bool = False,
    evaluation: rules_domain.Evaluation | None = None,
    locked_pools: Mapping[int, Pool] | None = None,
    pick: Callable[[Pool, Lead], _PoolPick] | None = None,
) -> tuple[Decision, list[rules_domain.RuleCheck]]:
    """Evaluate the rules and pick the owner. With ``commit`` the pool is locked and its state advanced.

    ``evaluation``: the rules' evaluation for this lead when the caller has it; ``locked_pools``: pools the
    caller locked already, by id; ``pick``: how to pick from a pool instead of ``_pick_from_pool`` (the last
    two for ``_route_together``)."""
    checks: list[rules_domain.RuleCheck] = []
    rule: rules_domain.Rule | None = None
    action: str
    user_id: int | None
    pool_id: int | None
    team_id: int | None
    if pool_override is not None:
        action, user_id, pool_id, team_id = ActionKind.ASSIGN_POOL, None, pool_override.pk, None
    elif rule_set is None:
        return (
            Decision(
                None,
                None,
                None,
                "",
                ActionKind.QUEUE,
                None,
                "",
                None,
                "",
                lead.team_id,
                AssignmentOutcome.QUEUED,
                gettext("No published rule set."),
            )  # fmt: skip
        ), checks
    else:
        if evaluation is None:
            parsed = _rules_of(rule_set)
            evaluation = rules_domain.evaluate(parsed, _record(lead, parsed, form_id=form_id), explain=explain)
        checks = evaluation.checks
        rule = evaluation.rule
        if rule is not None:
            action, user_id, pool_id, team_id = rule.action, rule.user_id, rule.pool_id, rule.team_id
        else:
            action = rule_set.default_action
            user_id, pool_id, team_id = rule_set.default_user_id, rule_set.default_pool_id, rule_set.default_team_id
    rule_name = rule.name if rule else ("" if pool_override else gettext("Default action"))
    pool: Pool | None = pool_override
    candidates: list[CandidateView] = []
    owner_id: int | None = None
    owner_name = ""
    owner_recipient: notifications_selectors.Recipient | None = None
    owner_contact: tuple[str, str] | None = None
    pool_state_write: PoolStateWrite | None = None
    outcome = AssignmentOutcome.ASSIGNED
    reason = ""
    if action == ActionKind.ASSIGN_USER:
        active, owner_name = _user_name(user_id)
        if active and user_id not in exclude_user_ids:
            owner_id = user_id
            reason = gettext("Assigned to a named user.")
            candidates = [CandidateView(user_id or 0, None, owner_name, "chosen")]
        else:
            outcome = AssignmentOutcome.QUEUED
            reason = gettext("The named user is inactive or excluded: left in the team queue.")
            if user_id is not None:
                status = eligibility.EXCLUDED if user_id in exclude_user_ids else eligibility.INACTIVE_USER
                candidates = [CandidateView(user_id, None, owner_name, status)]
            owner_name = ""
    elif action == ActionKind.QUEUE:
        outcome = AssignmentOutcome.QUEUED
        reason = gettext("The rule leaves the lead in the team queue.")
    else:
        if action == ActionKind.ACCOUNT_OWNER:
            account_owner, account_name = _account_owner(lead)
            if account_owner is not None and account_owner not in exclude_user_ids:
                owner_id, owner_name = account_owner, account_name
                reason = gettext("Owner of another lead of the same company.")
                candidates = [CandidateView(account_owner, None, account_name, "chosen")]
        if owner_id is None:
            if pool is None and locked_pools is not None and pool_id is not None and pool_id in locked_pools:
                pool = locked_pools[pool_id]
            elif pool is None:
                pool = _lock_pool(pool_id) if commit else _get_pool(pool_id)
            if pool is None or not pool.active:
                outcome = AssignmentOutcome.QUEUED
                reason = gettext("The pool is missing or inactive: left in the team queue.")
            else:
                picked = (
                    pick(pool, lead)
                    if pick is not None
                    else _pick_from_pool(pool, lead, exclude_user_ids=exclude_user_ids, commit=commit, defer_write=True)
                )
                candidates = candidates + picked.candidates
                if picked.user_id is not None:
                    owner_id, owner_name, owner_recipient = picked.user_id, picked.user_name, picked.recipient
                    owner_contact = picked.contact
                    pool_state_write = picked.state_write
                    reason = gettext("Next eligible rep of pool %(pool)s (%(strategy)s).") % {
                        "pool": pool.name,
                        "strategy": pool.get_strategy_display(),
                    }
                elif pool.fallback == Fallback.MANAGER and pool.fallback_user_id is not None:
                    active, name = _user_name(pool.fallback_user_id)
                    if active:
                        owner_id, owner_name = pool.fallback_user_id, name
                        outcome = AssignmentOutcome.FALLBACK_MANAGER
                        reason = gettext("Nobody eligible in pool %(pool)s: assigned to the fallback manager.") % {
                            "pool": pool.name
                        }
                    else:
                        outcome = AssignmentOutcome.QUEUED
                        reason = gettext("Nobody eligible and the fallback manager is inactive: queued.")
                else:
                    outcome = AssignmentOutcome.QUEUED
                    reason = gettext("Nobody eligible in pool %(pool)s: left in the team queue.") % {"pool": pool.name}
    if team_id is None and pool is not None:
        team_id = pool.team_id
    if team_id is None:
        team_id = lead.team_id
    return (
        Decision(
            rule_set_id=rule_set.pk if rule_set else None,
            rule_set_number=rule_set.number if rule_set else None,
            rule_id=rule.id if rule else None,
            rule_name=rule_name,
            action=action,
            pool_id=pool.pk if pool else None,
            pool_name=pool.name if pool else "",
            owner_id=owner_id,
            owner_name=owner_name,
            team_id=team_id,
            outcome=outcome,
            reason=reason,
            candidates=candidates,
            owner_recipient=owner_recipient,
            owner_contact=owner_contact,
            pool_state_write=pool_state_write,
        ),
        checks,
    )


def _lead_url(lead_id: int) -> str:
    try:
        return reverse("leads:detail", args=[lead_id])
    except NoReverseMatch:  # pragma: no cover - the leads URLs are always mounted
        return ""


def _apply(
    lead: Lead,
    decision: Decision,
    *,
    kind: str,
    trigger: str,
    actor_id: int | None,
    reason: str = "",
    alert_when_nobody: bool = True,
    new_lead: bool = False,
    sla_policies: list[SlaPolicy] | None = None,
) -> tuple[Assignment, datetime | None]:
    """Write the decision: lead owner/team, the Assignment, the event, the notification, the SLA clocks.

    Returns the assignment and when the owner's notification was enqueued (None when nobody was notified).
    ``new_lead``: the lead was created in this transaction (so it has no SLA clock yet). ``sla_policies``: the
    active "assigned" SLA policies, read by the caller before it locked a pool (see ``sla.start_clocks``).
    """
    now = clock.now()
    previous_owner_id = lead.owner_id
    # Plain SQL for the two writes every routed lead makes (the ORM's compilers cost more than the writes).
    # The pool's write from the pick (if any) goes in the same statement: the pool's lock is held until COMMIT.
    pool_write = decision.pool_state_write
    prefix, prefix_params = (PoolStateWrite.CTES, pool_write.params()) if pool_write else ("", [])
    if pool_write is not None or decision.owner_id != lead.owner_id or decision.team_id != lead.team_id:
        sql = prefix + "UPDATE leads_lead SET owner_id = %s, team_id = %s, updated_at = %s WHERE id = %s"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [*prefix_params, decision.owner_id, decision.team_id, now, lead.pk])
        lead.owner_id, lead.team_id, lead.updated_at = decision.owner_id, decision.team_id, now
    assignment = Assignment(
        lead_id=lead.pk,
        user_id=decision.owner_id,
        previous_owner_id=previous_owner_id,
        team_id=decision.team_id,
        pool_id=decision.pool_id,
        rule_id=decision.rule_id,
        rule_name=decision.rule_name[:200],
        rule_set_id=decision.rule_set_id,
        rule_set_number=decision.rule_set_number,
        kind=kind,
        outcome=decision.outcome,
        trigger=trigger[:32],
        reason=reason or decision.reason,
        candidates=[c.as_dict() for c in decision.candidates],
        actor_id=actor_id,
        created_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO routing_assignment (lead_id, user_id, previous_owner_id, team_id, pool_id, rule_id,"
            " rule_name, rule_set_id, rule_set_number, kind, outcome, trigger, reason, candidates, actor_id,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [assignment.lead_id, assignment.user_id, assignment.previous_owner_id, assignment.team_id,
             assignment.pool_id, assignment.rule_id, assignment.rule_name, assignment.rule_set_id,
             assignment.rule_set_number, assignment.kind, assignment.outcome, assignment.trigger, assignment.reason,
             jsonb(assignment.candidates), assignment.actor_id, assignment.created_at],
        )  # fmt: skip
        inserted = cursor.fetchone()
    assignment.pk = int(inserted[0]) if inserted else None
    assignment._state.adding = False
    skipped = Counter(c.status for c in decision.candidates if c.status not in ("chosen", "eligible"))
    core_events.publish(
        LeadAssigned(
            lead_id=lead.pk,
            actor_id=actor_id,
            assignment_id=assignment.pk,
            owner_id=decision.owner_id,
            owner_name=decision.owner_name,
            previous_owner_id=previous_owner_id,
            team_id=decision.team_id,
            kind=kind,
            outcome=decision.outcome,
            trigger=trigger,
            rule=decision.rule_name,
            pool=decision.pool_name,
            reason=assignment.reason,
            skipped=dict(skipped),
        ),
        occurred_at=now,
    )
    notified_at: datetime | None = None
    url = _lead_url(lead.pk)
    if decision.owner_id is not None and decision.owner_id != previous_owner_id:
        notifications_services.notify(
            user_id=decision.owner_id,
            kind=selectors.ASSIGNED_NOTICE,
            title=gettext_lazy("New lead assigned: %(lead)s"),
            params={"lead": str(lead)},
            body=assignment.reason,
            lead_id=lead.pk,
            url=url,
            team_id=decision.team_id,
            recipient=decision.owner_recipient,
        )
        notified_at = clock.now()
    if alert_when_nobody and decision.pool_id is not None and decision.outcome != AssignmentOutcome.ASSIGNED:
        for manager_id in selectors.team_manager_ids(decision.team_id):
            notifications_services.notify(
                user_id=manager_id,
                kind="routing_no_eligible",
                title=gettext_lazy("Nobody eligible in pool %(pool)s for %(lead)s"),
                params={"pool": decision.pool_name, "lead": str(lead)},
                body=assignment.reason,
                lead_id=lead.pk,
                url=url,
                team_id=decision.team_id,
            )
    if decision.owner_id is not None and decision.owner_id != previous_owner_id:
        sla_services.start_clocks(lead_id=lead.pk, trigger="assigned", lead=lead, new_lead=new_lead,
                                  policies=sla_policies)  # fmt: skip
    return assignment, notified_at


def _load_lead(lead_id: int, *, lock: bool) -> Lead | None:
    """The lead with its company (as ``select_related("company")``), locked with ``lock``.

    Plain SQL (``core.rows``): every routed lead is read here, and the ORM's compilation of this join
    cost ~1.5 ms of Python a lead, ten times what PostgreSQL spends on it."""
    lead_plan, company_plan = rows.row_plan(Lead, "l"), rows.row_plan(Company, "c")
    with connection.cursor() as cursor:
        columns = f"{lead_plan.columns}, {company_plan.columns}"
        sql = f"SELECT {columns} FROM leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id"  # noqa: S608
        cursor.execute(sql + " WHERE l.id = %s" + (" FOR UPDATE OF l" if lock else ""), [lead_id])
        row = cursor.fetchone()
    if row is None:
        return None
    lead: Lead = rows.instance_from_row(lead_plan, row)
    company = rows.instance_from_row(company_plan, row, lead_plan.width) if lead.company_id is not None else None
    Lead._meta.get_field("company").set_cached_value(lead, company)
    return lead


def _load_leads(lead_ids: Sequence[int]) -> dict[int, Lead]:
    """:func:`_load_lead` (without lock) for several leads, in one statement: by id."""
    lead_plan, company_plan = rows.row_plan(Lead, "l"), rows.row_plan(Company, "c")
    with connection.cursor() as cursor:
        columns = f"{lead_plan.columns}, {company_plan.columns}"
        sql = f"SELECT {columns} FROM leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id"  # noqa: S608
        cursor.execute(sql + " WHERE l.id = ANY(%s)", [list(lead_ids)])
        found = cursor.fetchall()
    leads: dict[int, Lead] = {}
    for row in found:
        lead: Lead = rows.instance_from_row(lead_plan, row)
        company = rows.instance_from_row(company_plan, row, lead_plan.width) if lead.company_id is not None else None
        Lead._meta.get_field("company").set_cached_value(lead, company)
        leads[lead.pk] = lead
    return leads


def _lock_pools(pool_ids: Sequence[int]) -> dict[int, Pool]:
    """Lock several pools in id order, in one statement: by id. (Two transactions that lock pools this way, or
    one pool each, never wait on each other in a cycle.)"""
    if not pool_ids:
        return {}
    plan = rows.row_plan(Pool, "p")
    with connection.cursor() as cursor:
        sql = f"SELECT {plan.columns} FROM routing_pool p WHERE p.id = ANY(%s) ORDER BY p.id FOR UPDATE"  # noqa: S608
        cursor.execute(sql, [sorted(pool_ids)])
        found = cursor.fetchall()
    pools = [rows.instance_from_row(plan, row) for row in found]
    return {pool.pk: pool for pool in pools}


def route_at_intake(
    *,
    lead_id: int,
    created: bool,
    received_at: datetime | None,
    stored_at: datetime | None,
    scored_at: datetime | None,
    form_id: int | None = None,
    ownership: tuple[int | None, int | None, str] | None = None,
) -> RoutingResult | None:
    """Assign ``lead_id`` by the published rule set when it has no owner; record speed-to-lead marks.

    Returns the new ownership, or None when the lead kept its owner. Notifications are enqueued in the
    caller's transaction. ``form_id`` (optional) is the capture form of this submission, for ``form`` rules.
    ``ownership``: the caller's (owner_id, team_id, source) of the lead, which intake has in hand; the
    lead is then read only when there is something to route. ``created``: this intake created the lead.
    """
    if ownership is None:
        found = _load_lead(lead_id, lock=False)  # the intake transaction holds the lead's row lock
        if found is None:
            return None
        ownership = (found.owner_id, found.team_id, found.source)
    owner_id, team_id, source = ownership
    if owner_id is not None:
        mark_speed(lead_id, received=received_at, stored=stored_at, scored=scored_at, team_id=team_id,
                   source=source, owner_id=owner_id)  # fmt: skip
        return None
    rule_set = selectors.published_rule_set_row(team_id)
    if rule_set is None:
        mark_speed(lead_id, received=received_at, stored=stored_at, scored=scored_at, team_id=team_id,
                   source=source)  # fmt: skip
        return None
    lead = _load_lead(lead_id, lock=False)
    if lead is None:
        return None
    # Read before the pool's row lock is taken in _decide: that lock is held until COMMIT, so every statement
    # moved ahead of it shortens the queue of leads routed to the same pool.
    sla_policies = sla_selectors.active_policies("assigned")
    decision, _checks = _decide(lead, rule_set=rule_set, commit=True, form_id=form_id)
    assignment, notified_at = _apply(lead, decision, kind=AssignmentKind.AUTOMATIC, trigger="intake", actor_id=None,
                                     new_lead=created, sla_policies=sla_policies)  # fmt: skip
    marks: dict[str, Any] = {
        "received": received_at,
        "stored": stored_at,
        "scored": scored_at,
        "team_id": decision.team_id,
        "source": lead.source,
    }
    if decision.owner_id is not None:
        marks.update(assigned=assignment.created_at, notified=notified_at, owner_id=decision.owner_id)
    mark_speed(lead_id, **marks)
    return RoutingResult(lead.pk, decision.owner_id, decision.team_id, assignment.pk, decision.owner_contact)


@dataclass(frozen=True)
class IntakeRouting:
    """The arguments of ``route_at_intake`` for one lead (``ownership`` given: intake has it in hand)."""

    lead_id: int
    created: bool
    received_at: datetime | None
    stored_at: datetime | None
    scored_at: datetime | None
    ownership: tuple[int | None, int | None, str]
    form_id: int | None = None


def route_many_at_intake(leads: Sequence[IntakeRouting]) -> list[RoutingResult | None]:
    """``route_at_intake`` for several distinct leads, in order. The leads with nothing to route (an owner
    already, or no rule set published for their team) cost one statement together: the rule sets are looked
    up once per team, their speed-to-lead marks written in one upsert. The others route one by one (a pool
    pick is one at a time: fairness)."""
    rule_sets: dict[int | None, Any] = {}
    marks: list[tuple[int, dict[str, Any]]] = []
    results: list[RoutingResult | None] = [None] * len(leads)
    to_route: list[tuple[int, IntakeRouting]] = []
    for position, lead in enumerate(leads):
        owner_id, team_id, source = lead.ownership
        speed = {"received": lead.received_at, "stored": lead.stored_at, "scored": lead.scored_at,
                 "team_id": team_id, "source": source}  # fmt: skip
        if owner_id is not None:
            marks.append((lead.lead_id, {**speed, "owner_id": owner_id}))
            continue
        if team_id not in rule_sets:
            rule_sets[team_id] = selectors.published_rule_set_row(team_id)
        if rule_sets[team_id] is None:
            marks.append((lead.lead_id, speed))
            continue
        to_route.append((position, lead))
    if len(to_route) == 1:
        position, lead = to_route[0]
        results[position] = route_at_intake(lead_id=lead.lead_id, created=lead.created, received_at=lead.received_at,
                                            stored_at=lead.stored_at, scored_at=lead.scored_at, form_id=lead.form_id,
                                            ownership=lead.ownership)  # fmt: skip
    elif to_route:
        routed = _route_together([lead for _, lead in to_route], rule_sets)
        for (position, _lead), result in zip(to_route, routed, strict=True):
            results[position] = result
    mark_speed_many(marks)
    return results


@dataclass
class _Picked:
    """A lead of ``_route_together`` whose pool pick is decided, not yet written."""

    item: IntakeRouting
    lead: Lead
    decision: Decision


def _route_together(
    items: Sequence[IntakeRouting],
    rule_sets: Mapping[int | None, Any],
    *,
    trigger: str = "intake",
    alone: Callable[[IntakeRouting], RoutingResult | None] | None = None,
) -> list[RoutingResult | None]:
    """``route_at_intake`` for several distinct unowned leads with a published rule set, in order, with the same
    outcome as one by one: the leads are read in one statement, every pool they may need is locked at once (in
    id order), and the new leads routed to a pool are picked from one snapshot per pool, kept up to date with
    the picks (fair-share state, open leads), then written together: owners, pool state, assignments, events,
    notifications, SLA clocks and speed marks, one statement each.

    A lead for which that is not the whole story goes alone through ``route_at_intake``, after the picks before
    it are written: a merged lead (it may have SLA clocks to restart), a rule that names a user, the account
    owner or the queue, a pool that is inactive or has nobody eligible (fallback, alerts). ``created``: the lead
    has no SLA clock (intake: it was created in this transaction). ``alone`` routes such a lead (default:
    ``route_at_intake``); ``trigger`` is recorded on the assignments."""
    leads = _load_leads([item.lead_id for item in items])
    sla_policies = sla_selectors.active_policies("assigned")
    evaluations: list[rules_domain.Evaluation | None] = []
    pool_ids: set[int] = set()
    for item in items:
        lead = leads.get(item.lead_id)
        rule_set = rule_sets[item.ownership[1]]
        if lead is None:
            evaluations.append(None)
            continue
        parsed = _rules_of(rule_set)
        evaluation = rules_domain.evaluate(parsed, _record(lead, parsed, form_id=item.form_id))
        evaluations.append(evaluation)
        pool_id = evaluation.rule.pool_id if evaluation.rule is not None else rule_set.default_pool_id
        if pool_id is not None:
            pool_ids.add(pool_id)
    # Every pool at once, in id order: a transaction never holds one pool while it waits for another.
    pools = _lock_pools(sorted(pool_ids))
    pools_current = True
    snapshots: dict[int, selectors.PoolSnapshot] = {}
    unwritten_open: Counter[int] = Counter()  # open leads the picks not yet written give each user

    def pick(pool: Pool, lead: Lead) -> _PoolPick:
        snapshot = snapshots.get(pool.pk)
        if snapshot is None:
            snapshot = snapshots[pool.pk] = selectors.pool_snapshot(pool, at=clock.now())
            for user_id, extra in unwritten_open.items():
                _add_open_leads(snapshot, user_id, extra)
        return _pick_from_pool(pool, lead, commit=True, defer_write=True, snapshot=snapshot)

    results: list[RoutingResult | None] = [None] * len(items)
    picked: list[tuple[int, _Picked]] = []

    def write_picked() -> None:
        written = _apply_together([p for _, p in picked], sla_policies, trigger=trigger)
        for (position, _entry), result in zip(picked, written, strict=True):
            results[position] = result
        picked.clear()
        unwritten_open.clear()

    for position, (item, evaluated) in enumerate(zip(items, evaluations, strict=True)):
        lead = leads.get(item.lead_id)
        if lead is None or evaluated is None:
            continue
        rule_set = rule_sets[item.ownership[1]]
        action = evaluated.rule.action if evaluated.rule is not None else rule_set.default_action
        if item.created and action == ActionKind.ASSIGN_POOL:
            if not pools_current:
                pools, pools_current = _lock_pools(sorted(pool_ids)), True
            decision, _checks = _decide(lead, rule_set=rule_set, commit=True, form_id=item.form_id,
                                        evaluation=evaluated, locked_pools=pools, pick=pick)  # fmt: skip
            write = decision.pool_state_write
            if write is not None and decision.owner_id is not None:
                if lead.is_open:
                    unwritten_open[decision.owner_id] += 1
                    for snapshot in snapshots.values():
                        _add_open_leads(snapshot, decision.owner_id, 1)
                picked.append((position, _Picked(item, lead, decision)))
                continue
            # Nobody picked (no state advanced): the pool's fallback, written alone below.
        write_picked()
        if alone is not None:
            results[position] = alone(item)
        else:
            results[position] = route_at_intake(
                lead_id=item.lead_id, created=item.created, received_at=item.received_at, stored_at=item.stored_at,
                scored_at=item.scored_at, form_id=item.form_id, ownership=item.ownership,
            )  # fmt: skip
        # That lead's pick (if any) moved a pool's state and someone's open leads: read them again when needed.
        snapshots.clear()
        pools_current = False
    write_picked()
    return results


def _add_open_leads(snapshot: selectors.PoolSnapshot, user_id: int, extra: int) -> None:
    for index, candidate in enumerate(snapshot.candidates):
        if candidate.user_id == user_id:
            snapshot.candidates[index] = dataclasses.replace(candidate, open_leads=candidate.open_leads + extra)


_INSERT_ASSIGNMENTS = """
    INSERT INTO routing_assignment (lead_id, user_id, previous_owner_id, team_id, pool_id, rule_id, rule_name,
                                    rule_set_id, rule_set_number, kind, outcome, trigger, reason, candidates,
                                    actor_id, created_at)
    SELECT u.lead_id, u.user_id, NULL, u.team_id, u.pool_id, u.rule_id, u.rule_name, u.rule_set_id,
           u.rule_set_number, %s, %s, %s, u.reason, u.candidates, NULL, %s
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[],
                %s::int[], %s::text[], %s::jsonb[]) WITH ORDINALITY
         AS u(lead_id, user_id, team_id, pool_id, rule_id, rule_name, rule_set_id, rule_set_number, reason,
              candidates, n)
    ORDER BY u.n RETURNING id
"""

# The pools' fair-share state, the chosen members' counters and the leads' owners, in one statement.
_WRITE_PICKS = """
    WITH pool_state AS (
        UPDATE routing_pool p SET rr_state = u.state
        FROM unnest(%s::bigint[], %s::jsonb[]) AS u(id, state) WHERE p.id = u.id
    ), member_counts AS (
        UPDATE routing_poolmember m SET assigned_count = m.assigned_count + u.n, last_assigned_at = u.at
        FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[]) AS u(id, n, at) WHERE m.id = u.id
    )
    UPDATE leads_lead l SET owner_id = u.owner_id, team_id = u.team_id, updated_at = %s
    FROM (SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) WITH ORDINALITY AS u(id, owner_id, team_id, n)
          ORDER BY n) u
    WHERE l.id = u.id
"""


def _apply_together(picked: Sequence[_Picked], sla_policies: list[SlaPolicy], *, trigger: str) -> list[RoutingResult]:
    """``_apply`` (automatic, at intake, new unowned leads picked from a pool) and the speed marks of
    ``route_at_intake`` for several leads: one statement per kind of row, whatever their number."""
    if not picked:
        return []
    now = clock.now()
    states: dict[int, str] = {}
    counts: Counter[int] = Counter()
    last_at: dict[int, datetime] = {}
    for entry in picked:
        write = entry.decision.pool_state_write
        assert write is not None  # noqa: S101 - only picks are written here
        states[write.pool_id] = write.state_json  # the last pick's state is the pool's
        counts[write.member_id] += 1
        last_at[write.member_id] = write.at
    decisions = [entry.decision for entry in picked]
    # The leads by owner: each owner's open-lead count (``leads_ownerload``, a row trigger) is then locked in user-id
    # order, as the trigger does for one statement's own moves, so two batches never wait on each other's owners.
    by_owner = sorted(picked, key=lambda e: (e.decision.owner_id or 0, e.lead.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            _WRITE_PICKS,
            [list(states), text_array(states.values()), list(counts), list(counts.values()),
             [last_at[m] for m in counts], now, [e.lead.pk for e in by_owner], [e.decision.owner_id for e in by_owner],
             [e.decision.team_id for e in by_owner]],
        )  # fmt: skip
        cursor.execute(
            _INSERT_ASSIGNMENTS,
            [AssignmentKind.AUTOMATIC, AssignmentOutcome.ASSIGNED, trigger[:32], now,
             [e.lead.pk for e in picked], [d.owner_id for d in decisions], [d.team_id for d in decisions],
             [d.pool_id for d in decisions], [d.rule_id for d in decisions], [d.rule_name[:200] for d in decisions],
             [d.rule_set_id for d in decisions], [d.rule_set_number for d in decisions],
             text_array(d.reason for d in decisions),
             jsonb_array([c.as_dict() for c in d.candidates] for d in decisions)],
        )  # fmt: skip
        assignment_ids = sorted(int(row[0]) for row in cursor.fetchall())
    for entry in picked:
        entry.lead.owner_id, entry.lead.team_id, entry.lead.updated_at = (
            entry.decision.owner_id, entry.decision.team_id, now
        )  # fmt: skip
    core_events.publish_many(
        [
            LeadAssigned(lead_id=e.lead.pk, actor_id=None, assignment_id=assignment_id, owner_id=e.decision.owner_id,
                         owner_name=e.decision.owner_name, previous_owner_id=None, team_id=e.decision.team_id,
                         kind=AssignmentKind.AUTOMATIC, outcome=AssignmentOutcome.ASSIGNED, trigger=trigger,
                         rule=e.decision.rule_name, pool=e.decision.pool_name, reason=e.decision.reason,
                         skipped=dict(Counter(c.status for c in e.decision.candidates
                                              if c.status not in ("chosen", "eligible"))))
            for e, assignment_id in zip(picked, assignment_ids, strict=True)
        ],
        occurred_at=now,
    )  # fmt: skip
    notifications_services.notify_many(
        [
            notifications_services.Notice(
                user_id=e.decision.owner_id or 0, kind=selectors.ASSIGNED_NOTICE,
                title=gettext_lazy("New lead assigned: %(lead)s"), params={"lead": str(e.lead)},
                body=e.decision.reason, lead_id=e.lead.pk, url=_lead_url(e.lead.pk), team_id=e.decision.team_id,
                recipient=e.decision.owner_recipient,
            )
            for e in picked
        ]
    )  # fmt: skip
    notified_at = clock.now()
    sla_services.start_clocks_of_new_leads([e.lead for e in picked], policies=sla_policies)
    mark_speed_many([
        (e.lead.pk, {"received": e.item.received_at, "stored": e.item.stored_at, "scored": e.item.scored_at,
                     "team_id": e.decision.team_id, "source": e.lead.source, "assigned": now,
                     "notified": notified_at, "owner_id": e.decision.owner_id})
        for e in picked
    ])  # fmt: skip
    return [
        RoutingResult(e.lead.pk, e.decision.owner_id, e.decision.team_id, assignment_id, e.decision.owner_contact)
        for e, assignment_id in zip(picked, assignment_ids, strict=True)
    ]


@transaction.atomic
def route_lead(lead_id: int, *, trigger: str, actor_id: int | None = None) -> RoutingResult | None:
    """Route an unowned lead now (e.g. it became hot). None when it already has an owner, does not
    exist, or no rule set is published. Locks the lead so two triggers never assign it twice."""
    lead = _load_lead(lead_id, lock=True)
    if lead is None or lead.owner_id is not None:
        return None
    rule_set = selectors.published_rule_set_row(lead.team_id)
    if rule_set is None:
        return None
    decision, _checks = _decide(lead, rule_set=rule_set, commit=True)
    assignment, notified_at = _apply(lead, decision, kind=AssignmentKind.AUTOMATIC, trigger=trigger,
                                     actor_id=actor_id)  # fmt: skip
    if decision.owner_id is not None:
        mark_speed(lead.pk, assigned=assignment.created_at, notified=notified_at, owner_id=decision.owner_id,
                   team_id=decision.team_id, source=lead.source)  # fmt: skip
    return RoutingResult(lead.pk, decision.owner_id, decision.team_id, assignment.pk)


# Leads per transaction when a list of leads is routed (an import's): what a transaction holds until COMMIT is
# the leads' row locks and the pools' (see capture.batch_intake.TRANSACTION_ITEMS).
ROUTE_TOGETHER_MAX = 50


@transaction.atomic
def route_leads_together(lead_ids: Sequence[int], *, trigger: str) -> list[RoutingResult | None]:
    """:func:`route_lead` for several leads in one transaction, with the same outcome as one by one in order
    (``_route_together``): the leads are locked in id order; an owned or missing one, or one whose team has no
    published rule set, is skipped (None); one with an open SLA clock is routed alone (its clocks may restart)."""
    lead_ids = list(dict.fromkeys(lead_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, owner_id, team_id, source FROM leads_lead WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [lead_ids],
        )
        found = {int(row[0]): row for row in cursor.fetchall()}
    clocked = sla_selectors.leads_with_open_clocks([i for i, row in found.items() if row[1] is None])
    rule_sets: dict[int | None, Any] = {}
    results: list[RoutingResult | None] = [None] * len(lead_ids)
    positions: list[int] = []
    items: list[IntakeRouting] = []
    for position, lead_id in enumerate(lead_ids):
        row = found.get(lead_id)
        if row is None or row[1] is not None:
            continue
        team_id = row[2]
        if team_id not in rule_sets:
            rule_sets[team_id] = selectors.published_rule_set_row(team_id)
        if rule_sets[team_id] is None:
            continue
        positions.append(position)
        items.append(IntakeRouting(lead_id=lead_id, created=lead_id not in clocked, received_at=None, stored_at=None,
                                   scored_at=None, ownership=(None, team_id, row[3] or "")))  # fmt: skip
    routed = _route_together(items, rule_sets, trigger=trigger,
                             alone=lambda item: route_lead(item.lead_id, trigger=trigger))  # fmt: skip
    for position, result in zip(positions, routed, strict=True):
        results[position] = result
    return results


@transaction.atomic
def reassign_to_next_eligible(*, lead_id: int, reason: str, actor_id: int | None = None) -> RoutingResult | None:
    """SLA escalation: give the lead to the next eligible rep of the pool that assigned it, excluding the
    current owner. Without a pool in its history, the published rules route it again (the current owner
    excluded). None when nobody else is eligible (the lead keeps its owner; managers are alerted)."""
    lead = _load_lead(lead_id, lock=True)
    if lead is None:
        return None
    latest = Assignment.objects.filter(lead_id=lead_id, pool__isnull=False).order_by("-created_at", "-id").first()
    exclude = [lead.owner_id] if lead.owner_id is not None else []
    pool = _lock_pool(latest.pool_id) if latest is not None else None
    if pool is not None and pool.active:
        decision, _checks = _decide(lead, rule_set=None, commit=True, exclude_user_ids=exclude, pool_override=pool)
        decision = _with_rule_of(decision, latest)
    else:
        rule_set = selectors.published_rule_set_row(lead.team_id)
        decision, _checks = _decide(lead, rule_set=rule_set, commit=True, exclude_user_ids=exclude)
    if decision.owner_id is None or decision.outcome != AssignmentOutcome.ASSIGNED:
        for manager_id in selectors.team_manager_ids(lead.team_id):
            notifications_services.notify(
                user_id=manager_id,
                kind="routing_no_eligible",
                title=gettext_lazy("Nobody else eligible to take over %(lead)s"),
                params={"lead": str(lead)},
                body=reason,
                lead_id=lead.pk,
                url=_lead_url(lead.pk),
                team_id=lead.team_id,
            )
        return None
    assignment, _notified = _apply(
        lead,
        decision,
        kind=AssignmentKind.ESCALATION,
        trigger="sla",
        actor_id=actor_id,
        reason=f"{reason} — {decision.reason}" if reason else "",
        alert_when_nobody=False,
    )
    return RoutingResult(lead.pk, decision.owner_id, decision.team_id, assignment.pk)


def _with_rule_of(decision: Decision, latest: Assignment | None) -> Decision:
    if latest is None:
        return decision
    return dataclasses.replace(
        decision,
        rule_set_id=latest.rule_set_id,
        rule_set_number=latest.rule_set_number,
        rule_id=latest.rule_id,
        rule_name=latest.rule_name,
    )


@transaction.atomic
def assign_manually(*, lead_id: int, user_id: int | None, actor: User, reason: str) -> RoutingResult:
    """A manager of the lead's team (or an admin) gives the lead to ``user_id`` (None: back to the queue)."""
    from embudo.leads.exceptions import LeadNotFound

    lead = _load_lead(lead_id, lock=True)
    if lead is None:
        raise LeadNotFound("Lead not found.")
    if not can_assign(actor, lead):
        raise RoutingNotAllowed("Only managers of the lead's team and admins can assign leads.")
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why."]
    elif len(reason) > 1000:
        errors["reason"] = ["At most 1000 characters."]
    name = ""
    if user_id is not None:
        active, name = _user_name(user_id)
        if not active:
            errors["user_id"] = ["Unknown or inactive user."]
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    decision = Decision(
        rule_set_id=None,
        rule_set_number=None,
        rule_id=None,
        rule_name="",
        action=ActionKind.ASSIGN_USER if user_id else ActionKind.QUEUE,
        pool_id=None,
        pool_name="",
        owner_id=user_id,
        owner_name=name,
        team_id=lead.team_id,
        outcome=AssignmentOutcome.ASSIGNED if user_id else AssignmentOutcome.QUEUED,
        reason=reason,
        candidates=[CandidateView(user_id, None, name, "chosen")] if user_id else [],
    )
    assignment, notified_at = _apply(lead, decision, kind=AssignmentKind.MANUAL, trigger="manual",
                                     actor_id=actor.pk, reason=reason)  # fmt: skip
    if user_id is not None:
        mark_speed(lead.pk, assigned=assignment.created_at, notified=notified_at, owner_id=user_id,
                   team_id=lead.team_id, source=lead.source)  # fmt: skip
    return RoutingResult(lead.pk, user_id, lead.team_id, assignment.pk)


def preview(*, lead_id: int, rule_set_id: int) -> Preview:
    """Which rule of ``rule_set_id`` (draft or not) matches the lead, which conditions failed for the
    others, and who would be picked and why. Reads only: no lock, no state change."""
    from embudo.leads.exceptions import LeadNotFound

    rule_set = selectors.get_rule_set(rule_set_id)
    if rule_set is None:
        raise RuleSetNotFound("Rule set not found.")
    lead = _load_lead(lead_id, lock=False)
    if lead is None:
        raise LeadNotFound("Lead not found.")
    decision, checks = _decide(lead, rule_set=rule_set, commit=False, explain=True)
    return Preview(lead_id=lead.pk, decision=decision, checks=checks)


# --- rule sets -------------------------------------------------------------------------------------


def _scope(queryset: QuerySet[RuleSet], team_id: int | None) -> QuerySet[RuleSet]:
    # ``team_id=None`` would compile to ``= NULL``: the global scope is ``team IS NULL``.
    return queryset.filter(team__isnull=True) if team_id is None else queryset.filter(team_id=team_id)


def _next_number(team_id: int | None) -> int:
    last = _scope(RuleSet.objects.all(), team_id).order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _copy_rules(source: RuleSet, target: RuleSet) -> None:
    RoutingRule.objects.bulk_create(
        [
            RoutingRule(
                rule_set=target,
                position=r.position,
                name=r.name,
                conditions=r.conditions,
                action=r.action,
                user_id=r.user_id,
                pool_id=r.pool_id,
                team_id=r.team_id,
                active=r.active,
            )
            for r in source.rules.all().order_by("position", "id")
        ]
    )


def _lock_scope(team_id: int | None) -> None:
    """Serialize numbering and publishing per scope (a transaction-level advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('routing.ruleset'), %s)", [team_id or 0])


@transaction.atomic
def create_rule_set(*, actor: User, team_id: int | None = None, name: str = "") -> RuleSet:
    """A new draft for a scope: a copy of the scope's published rule set, or an empty one."""
    _require_configure(actor)
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        raise InvalidRouting("Some fields are not valid.", fields={"team_id": ["Unknown team."]})
    _lock_scope(team_id)
    published = _scope(RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED), team_id).first()
    if published is not None:
        return _draft_from(published, actor=actor, name=name)
    now = clock.now()
    return RuleSet.objects.create(
        team_id=team_id, number=_next_number(team_id), name=name.strip()[:120], created_by=actor,
        created_at=now, updated_at=now,
    )  # fmt: skip


def _draft_from(source: RuleSet, *, actor: User, name: str = "") -> RuleSet:
    now = clock.now()
    draft = RuleSet.objects.create(
        team_id=source.team_id,
        number=_next_number(source.team_id),
        name=(name.strip() or source.name)[:120],
        default_action=source.default_action,
        default_user_id=source.default_user_id,
        default_pool_id=source.default_pool_id,
        default_team_id=source.default_team_id,
        copied_from=source,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _copy_rules(source, draft)
    return draft


@transaction.atomic
def create_draft(*, actor: User, rule_set_id: int) -> RuleSet:
    """A new draft copied from ``rule_set_id`` (any status) with the next number of its scope."""
    _require_configure(actor)
    source = RuleSet.objects.filter(pk=rule_set_id).first()
    if source is None:
        raise RuleSetNotFound("Rule set not found.")
    _lock_scope(source.team_id)
    return _draft_from(source, actor=actor)


def _int_or_none(value: Any, field_name: str, errors: dict[str, list[str]]) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field_name] = ["Give an id."]
        return None


def _check_targets(
    errors: dict[str, list[str]], *, prefix: str, user_id: int | None, pool_id: int | None, team_id: int | None
) -> None:
    if user_id is not None and not User.objects.filter(pk=user_id, is_active=True).exists():
        errors[f"{prefix}user_id"] = ["Unknown or inactive user."]
    if pool_id is not None and not Pool.objects.filter(pk=pool_id).exists():
        errors[f"{prefix}pool_id"] = ["Unknown pool."]
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        errors[f"{prefix}team_id"] = ["Unknown team."]


@transaction.atomic
def update_draft(*, actor: User, rule_set_id: int, data: Mapping[str, Any]) -> RuleSet:
    """Edit a draft: ``name``, ``default_action``, ``default_user_id``, ``default_pool_id``,
    ``default_team_id`` and ``rules`` (the whole ordered list, replaced: each ``{name, conditions, action,
    user_id, pool_id, team_id, active}``). Field errors are keyed like ``rules.2.conditions.0.value``."""
    _require_configure(actor)
    rule_set = RuleSet.objects.select_for_update().filter(pk=rule_set_id).first()
    if rule_set is None:
        raise RuleSetNotFound("Rule set not found.")
    if rule_set.status != RuleSetStatus.DRAFT:
        raise NotADraft("Only drafts can be edited: create a draft from this rule set.")
    known = {"name", "default_action", "default_user_id", "default_pool_id", "default_team_id", "rules"}
    errors: dict[str, list[str]] = {k: ["Unknown field."] for k in sorted(set(data) - known)}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if len(name) > 120:
            errors["name"] = ["At most 120 characters."]
        rule_set.name = name
    for key in ("default_user_id", "default_pool_id", "default_team_id"):
        if key in data:
            setattr(rule_set, key, _int_or_none(data[key], key, errors))
    if "default_action" in data:
        rule_set.default_action = str(data["default_action"] or "")
    errors.update(
        {
            k.replace("user_id", "default_user_id").replace("pool_id", "default_pool_id"): v
            for k, v in rules_domain.validate_action(
                rule_set.default_action, user_id=rule_set.default_user_id, pool_id=rule_set.default_pool_id,
                prefix="default_",
            ).items()
        }
    )  # fmt: skip
    _check_targets(errors, prefix="default_", user_id=rule_set.default_user_id, pool_id=rule_set.default_pool_id,
                   team_id=rule_set.default_team_id)  # fmt: skip
    new_rules: list[RoutingRule] | None = None
    if "rules" in data:
        raw_rules = data["rules"]
        if not isinstance(raw_rules, list):
            errors["rules"] = ["Give a list of rules."]
        elif len(raw_rules) > MAX_RULES:
            errors["rules"] = [f"At most {MAX_RULES} rules."]
        else:
            new_rules = []
            allowed_fields = selectors.field_names()
            for i, raw in enumerate(raw_rules):
                prefix = f"rules.{i}."
                if not isinstance(raw, Mapping):
                    errors[f"rules.{i}"] = ["Give an object."]
                    continue
                unknown = set(raw) - {"id", "name", "conditions", "action", "user_id", "pool_id", "team_id", "active"}
                for key in sorted(unknown):
                    errors[prefix + key] = ["Unknown field."]
                name = str(raw.get("name") or "").strip()
                if not name:
                    errors[prefix + "name"] = ["Give the rule a name."]
                elif len(name) > 200:
                    errors[prefix + "name"] = ["At most 200 characters."]
                raw_conditions = raw.get("conditions") or []
                if not isinstance(raw_conditions, list):
                    errors[prefix + "conditions"] = ["Give a list of conditions."]
                    raw_conditions = []
                try:
                    parsed = cond.parse(raw_conditions, fields=allowed_fields, prefix=f"rules.{i}.conditions")
                except cond.ConditionError as exc:
                    errors.update(exc.fields)
                    parsed = []
                action = str(raw.get("action") or "")
                user_id = _int_or_none(raw.get("user_id"), prefix + "user_id", errors)
                pool_id = _int_or_none(raw.get("pool_id"), prefix + "pool_id", errors)
                team_id = _int_or_none(raw.get("team_id"), prefix + "team_id", errors)
                errors.update(rules_domain.validate_action(action, user_id=user_id, pool_id=pool_id, prefix=prefix))
                _check_targets(errors, prefix=prefix, user_id=user_id, pool_id=pool_id, team_id=team_id)
                new_rules.append(
                    RoutingRule(
                        rule_set=rule_set,
                        position=i,
                        name=name[:200],
                        conditions=[c.as_dict() for c in parsed],
                        action=action,
                        user_id=user_id if action == ActionKind.ASSIGN_USER else None,
                        pool_id=pool_id if action in (ActionKind.ASSIGN_POOL, ActionKind.ACCOUNT_OWNER) else None,
                        team_id=team_id,
                        active=bool(raw.get("active", True)),
                    )
                )
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    if rule_set.default_action != ActionKind.ASSIGN_USER:
        rule_set.default_user_id = None
    if rule_set.default_action not in (ActionKind.ASSIGN_POOL, ActionKind.ACCOUNT_OWNER):
        rule_set.default_pool_id = None
    rule_set.updated_at = clock.now()
    rule_set.save()
    if new_rules is not None:
        rule_set.rules.all().delete()
        RoutingRule.objects.bulk_create(new_rules)
    fresh = selectors.get_rule_set(rule_set.pk)
    return fresh if fresh is not None else rule_set


@transaction.atomic
def publish_rule_set(*, actor: User, rule_set_id: int) -> RuleSet:
    """Publish a draft: the scope's published rule set is archived; new leads route by this one."""
    _require_configure(actor)
    rule_set = RuleSet.objects.filter(pk=rule_set_id).first()
    if rule_set is None:
        raise RuleSetNotFound("Rule set not found.")
    _lock_scope(rule_set.team_id)
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set_id)
    if rule_set.status != RuleSetStatus.DRAFT:
        raise NotADraft("Only drafts can be published.")
    errors = rules_domain.validate_action(
        rule_set.default_action, user_id=rule_set.default_user_id, pool_id=rule_set.default_pool_id, prefix="default_"
    )
    if errors:
        raise InvalidRouting("Set the default action before publishing.", fields=errors)
    now = clock.now()
    _scope(RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED), rule_set.team_id).update(
        status=RuleSetStatus.ARCHIVED, updated_at=now
    )
    rule_set.status = RuleSetStatus.PUBLISHED
    rule_set.published_at = now
    rule_set.published_by = actor
    rule_set.updated_at = now
    rule_set.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    return rule_set


@transaction.atomic
def delete_draft(*, actor: User, rule_set_id: int) -> None:
    _require_configure(actor)
    rule_set = RuleSet.objects.select_for_update().filter(pk=rule_set_id).first()
    if rule_set is None:
        raise RuleSetNotFound("Rule set not found.")
    if rule_set.status != RuleSetStatus.DRAFT:
        raise NotADraft("Only drafts can be deleted.")
    rule_set.delete()


# --- pools, members, schedules, out of office ------------------------------------------------------


def _tags(value: Any, key: str, errors: dict[str, list[str]]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) > 50:
        errors[key] = ["Give a list of at most 50 texts."]
        return []
    return sorted(eligibility.normalise_tags(value))


_POOL_FIELDS = ("name", "team_id", "strategy", "required_skills", "match_language", "fallback", "fallback_user_id",
                "active")  # fmt: skip


def _apply_pool_data(pool: Pool, data: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    for key in sorted(set(data) - set(_POOL_FIELDS)):
        errors[key] = ["Unknown field."]
    if "name" in data:
        pool.name = str(data["name"] or "").strip()
    if not pool.name:
        errors["name"] = ["Give the pool a name."]
    elif len(pool.name) > 120:
        errors["name"] = ["At most 120 characters."]
    elif Pool.objects.filter(name__iexact=pool.name).exclude(pk=pool.pk).exists():
        errors["name"] = ["Another pool has this name."]
    if "team_id" in data:
        pool.team_id = _int_or_none(data["team_id"], "team_id", errors)
    if "strategy" in data:
        pool.strategy = str(data["strategy"] or "")
    if pool.strategy not in PoolStrategy.values:
        errors["strategy"] = [f"Choose one of: {', '.join(PoolStrategy.values)}."]
    if "required_skills" in data:
        pool.required_skills = _tags(data["required_skills"], "required_skills", errors)
    if "match_language" in data:
        pool.match_language = bool(data["match_language"])
    if "fallback" in data:
        pool.fallback = str(data["fallback"] or "")
    if pool.fallback not in Fallback.values:
        errors["fallback"] = [f"Choose one of: {', '.join(Fallback.values)}."]
    if "fallback_user_id" in data:
        pool.fallback_user_id = _int_or_none(data["fallback_user_id"], "fallback_user_id", errors)
    if pool.fallback == Fallback.MANAGER and pool.fallback_user_id is None and "fallback_user_id" not in errors:
        errors["fallback_user_id"] = ["Choose the manager who takes the leads nobody can."]
    if "active" in data:
        pool.active = bool(data["active"])
    _check_targets(errors, prefix="", user_id=None, pool_id=None, team_id=pool.team_id)
    if pool.fallback_user_id is not None and not User.objects.filter(pk=pool.fallback_user_id, is_active=True).exists():
        errors["fallback_user_id"] = ["Unknown or inactive user."]


@transaction.atomic
def create_pool(*, actor: User, data: Mapping[str, Any]) -> Pool:
    """Fields: name, team_id, strategy, required_skills, match_language, fallback, fallback_user_id, active;
    optionally ``members`` (see :func:`set_members`)."""
    _require_configure(actor)
    now = clock.now()
    pool = Pool(created_at=now, updated_at=now)
    errors: dict[str, list[str]] = {}
    _apply_pool_data(pool, {k: v for k, v in data.items() if k != "members"}, errors)
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    pool.save()
    if "members" in data:
        set_members(actor=actor, pool_id=pool.pk, members=data["members"])
    return pool


@transaction.atomic
def update_pool(*, actor: User, pool_id: int, data: Mapping[str, Any]) -> Pool:
    """Partial update of a pool (fields as :func:`create_pool`; ``members`` replaces the members)."""
    _require_configure(actor)
    pool = Pool.objects.select_for_update().filter(pk=pool_id).first()
    if pool is None:
        raise PoolNotFound("Pool not found.")
    errors: dict[str, list[str]] = {}
    _apply_pool_data(pool, {k: v for k, v in data.items() if k != "members"}, errors)
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    pool.updated_at = clock.now()
    pool.save()
    if "members" in data:
        set_members(actor=actor, pool_id=pool.pk, members=data["members"])
    return pool


def _member_values(raw: Any, prefix: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        errors[prefix.rstrip(".")] = ["Give an object."]
        return None
    for key in sorted(set(raw) - {"id", "user_id", "weight", "skills", "languages", "capacity", "active"}):
        errors[prefix + key] = ["Unknown field."]
    user_id = _int_or_none(raw.get("user_id"), prefix + "user_id", errors)
    if user_id is None and prefix + "user_id" not in errors:
        errors[prefix + "user_id"] = ["Choose a rep."]
    weight = _int_or_none(raw.get("weight", 1), prefix + "weight", errors)
    if weight is not None and not 1 <= weight <= 1000:
        errors[prefix + "weight"] = ["Between 1 and 1000."]
    capacity = _int_or_none(raw.get("capacity"), prefix + "capacity", errors)
    if capacity is not None and not 0 <= capacity <= 100000:
        errors[prefix + "capacity"] = ["Between 0 and 100000 (empty: unlimited)."]
    return {
        "user_id": user_id,
        "weight": weight or 1,
        "skills": _tags(raw.get("skills"), prefix + "skills", errors),
        "languages": _tags(raw.get("languages"), prefix + "languages", errors),
        "capacity": capacity,
        "active": bool(raw.get("active", True)),
    }


@transaction.atomic
def set_members(*, actor: User, pool_id: int, members: Any) -> list[PoolMember]:
    """Replace a pool's members: ``[{user_id, weight, skills, languages, capacity, active}]``. Members who
    stay keep their round-robin state and counters."""
    _require_configure(actor)
    pool = Pool.objects.select_for_update().filter(pk=pool_id).first()
    if pool is None:
        raise PoolNotFound("Pool not found.")
    errors: dict[str, list[str]] = {}
    if not isinstance(members, list) or len(members) > 500:
        raise InvalidRouting("Some fields are not valid.", fields={"members": ["Give a list of at most 500 members."]})
    values = [_member_values(raw, f"members.{i}.", errors) for i, raw in enumerate(members)]
    seen: set[int] = set()
    user_ids = [v["user_id"] for v in values if v and v["user_id"] is not None]
    known = set(User.objects.filter(pk__in=user_ids).values_list("id", flat=True))
    for i, v in enumerate(values):
        if v is None or v["user_id"] is None:
            continue
        if v["user_id"] not in known:
            errors[f"members.{i}.user_id"] = ["Unknown user."]
        elif v["user_id"] in seen:
            errors[f"members.{i}.user_id"] = ["This rep is already a member."]
        seen.add(v["user_id"])
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    existing = {m.user_id: m for m in PoolMember.objects.filter(pool=pool)}
    PoolMember.objects.filter(pool=pool).exclude(user_id__in=seen).delete()
    result: list[PoolMember] = []
    for v in values:
        if v is None:  # pragma: no cover - errors raised above
            continue
        member = existing.get(v["user_id"]) or PoolMember(pool=pool, user_id=v["user_id"])
        for key in ("weight", "skills", "languages", "capacity", "active"):
            setattr(member, key, v[key])
        member.save()
        result.append(member)
    pool.rr_state = fairness.prune_state(
        {int(k): float(x) for k, x in (pool.rr_state or {}).items()}, [m.pk for m in result]
    )
    pool.rr_state = {str(k): x for k, x in pool.rr_state.items()}
    pool.updated_at = clock.now()
    pool.save(update_fields=["rr_state", "updated_at"])
    return result


@transaction.atomic
def delete_pool(*, actor: User, pool_id: int) -> None:
    _require_configure(actor)
    deleted, _ = Pool.objects.filter(pk=pool_id).delete()
    if not deleted:
        raise PoolNotFound("Pool not found.")


@transaction.atomic
def set_schedule(*, actor: User, user_id: int, time_zone: str, hours: Any) -> RepSchedule:
    """A rep's weekly working hours (``{"mon": [["09:00", "18:00"]], …}``) in ``time_zone``. Reps may set
    their own; admins and managers anyone's."""
    if actor.pk != user_id:
        _require_configure(actor)
    errors: dict[str, list[str]] = {}
    if not User.objects.filter(pk=user_id).exists():
        errors["user_id"] = ["Unknown user."]
    if not valid_time_zone(time_zone):
        errors["time_zone"] = ["Unknown time zone (use an IANA name such as Europe/Madrid)."]
    try:
        parsed = parse_hours(hours)
    except ScheduleError as exc:
        errors.update(exc.fields)
        parsed = {}
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    schedule, _created = RepSchedule.objects.update_or_create(
        user_id=user_id,
        defaults={"time_zone": time_zone, "hours": {d: [list(s) for s in spans] for d, spans in parsed.items()},
                  "updated_at": clock.now()},
    )  # fmt: skip
    return schedule


@transaction.atomic
def clear_schedule(*, actor: User, user_id: int) -> None:
    """Remove a rep's schedule: always on shift again."""
    if actor.pk != user_id:
        _require_configure(actor)
    RepSchedule.objects.filter(user_id=user_id).delete()


@transaction.atomic
def add_out_of_office(*, actor: User, user_id: int, start: datetime, end: datetime, reason: str = "") -> OutOfOffice:
    """The rep is away (never chosen) from ``start`` until ``end``."""
    if actor.pk != user_id:
        _require_configure(actor)
    errors: dict[str, list[str]] = {}
    if not User.objects.filter(pk=user_id).exists():
        errors["user_id"] = ["Unknown user."]
    if start is None:
        errors["start"] = ["Give a start."]
    if end is None:
        errors["end"] = ["Give an end."]
    elif start is not None and end <= start:
        errors["end"] = ["The end must be after the start."]
    if len(reason or "") > 200:
        errors["reason"] = ["At most 200 characters."]
    if errors:
        raise InvalidRouting("Some fields are not valid.", fields=errors)
    return OutOfOffice.objects.create(user_id=user_id, start=start, end=end, reason=(reason or "").strip(),
                                      created_by=actor, created_at=clock.now())  # fmt: skip


@transaction.atomic
def delete_out_of_office(*, actor: User, out_of_office_id: int) -> None:
    period = OutOfOffice.objects.filter(pk=out_of_office_id).first()
    if period is None:
        from embudo.core.exceptions import NotFound

        raise NotFound("Out-of-office period not found.")
    if actor.pk != period.user_id:
        _require_configure(actor)
    period.delete()


# --- reactions ---------------------------------------------------------------------------------------


@transaction.atomic
def on_grade_changed(*, event_id: int) -> None:
    """React to ``scoring.GradeChanged``: when the lead became hot, route it if unowned, else tell its
    owner; then start the hot-lead SLA clocks. One transaction: a retried job redoes all or nothing."""
    event = core_events.get_event(event_id)
    payload = event.payload or {}
    if event.lead_id is None or not payload.get("became_hot"):
        return
    lead = _load_lead(event.lead_id, lock=True)
    if lead is None:
        return
    if lead.owner_id is None:
        route_lead(lead.pk, trigger="hot")
    else:
        notifications_services.notify(
            user_id=lead.owner_id,
            kind="lead_hot",
            title=gettext_lazy("Lead became hot: %(lead)s"),
            body=gettext_lazy("Score %(score)s."),
            params={"lead": str(lead), "score": payload.get("score")},
            lead_id=lead.pk,
            url=_lead_url(lead.pk),
            team_id=lead.team_id,
        )
    sla_services.start_clocks(lead_id=lead.pk, trigger="hot")
