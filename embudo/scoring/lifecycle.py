"""Lifecycle and BANT writes: automatic moves (score threshold, product activity, BANT complete) and moves by hand.

Every transition is a ``scoring.LifecycleChanged`` event (who, why, which rule) in the caller's transaction.
Only the lifecycle/BANT columns of the lead row are written here (narrow UPDATEs); BANT edits are also
published as ``leads.LeadUpdated`` so the timeline shows them and fit is rescored.

Permissions for hand-made changes: sales reps on the leads they own, managers on their teams' leads (and their
own), admins on all; marketing moves leads between the marketing stages only and does not edit BANT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock
from embudo.core import events as core_events
from embudo.core.exceptions import InvalidInput, PermissionDenied
from embudo.leads import selectors as leads_selectors
from embudo.leads.events import LeadUpdated
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.models import Lead
from embudo.scoring.domain import lifecycle as domain
from embudo.scoring.events import LifecycleChanged

if TYPE_CHECKING:
    from embudo.scoring.services import ScoreChange


class InvalidStageChange(InvalidInput):
    code = "invalid_stage_change"


class StageChangeNotAllowed(PermissionDenied):
    code = "stage_change_not_allowed"


class InvalidBant(InvalidInput):
    code = "validation_error"


BANT_COLUMNS: Mapping[str, str] = {name: f"bant_{name}" for name in domain.BANT_FIELDS}
# The pure domain speaks English; these are its messages for translation.
_DOMAIN_MESSAGES = {
    "The lead is already in this stage.": gettext_lazy("The lead is already in this stage."),
    "Marketing moves leads between subscriber, lead, MQL and PQL only.": gettext_lazy(
        "Marketing moves leads between subscriber, lead, MQL and PQL only."
    ),
    f"At most {domain.MAX_REASON} characters.": gettext_lazy("At most 200 characters."),
    "Choose why the lead is disqualified.": gettext_lazy("Choose why the lead is disqualified."),
    "Say why the lead is disqualified.": gettext_lazy("Say why the lead is disqualified."),
    "Say why the lead moves back.": gettext_lazy("Say why the lead moves back."),
}


def _translated(message: str) -> str:
    return str(_DOMAIN_MESSAGES.get(message, message))


# --- Permissions (reads) -------------------------------------------------------------------------


def can_work_lead(actor: User, lead: Lead) -> bool:
    """Sales work on a lead (stage moves, BANT): reps own it, managers share its team, admins always."""
    if actor.role == "admin":
        return True
    if actor.role == "manager":
        return lead.owner_id == actor.pk or lead.team_id in accounts_selectors.team_ids_of(actor)
    if actor.role == "sales_rep":
        return lead.owner_id == actor.pk
    return False


def can_edit_bant(actor: User, lead: Lead) -> bool:
    return can_work_lead(actor, lead)


def can_move(actor: User, lead: Lead) -> bool:
    """Whether the actor may move this lead by hand at all (marketing: between marketing stages)."""
    if actor.role == "marketing":
        return lead.lifecycle_stage in domain.MARKETING_STAGES
    return can_work_lead(actor, lead)


def allowed_moves(actor: User, lead: Lead) -> list[str]:
    """The stages the actor may move the lead to by hand (reasons aside), in funnel order."""
    if not can_move(actor, lead):
        return []
    targets = domain.MARKETING_STAGES if actor.role == "marketing" else frozenset(domain.STAGES)
    return [stage for stage in domain.STAGES if stage in targets and stage != lead.lifecycle_stage]


def _lead_for_update(actor: User, lead_id: int) -> Lead:
    lead = leads_selectors.leads_visible_to(actor).select_for_update(of=("self",)).filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound(_("Lead not found."))
    return lead


# --- Automatic moves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    lead_id: int
    old_stage: str
    stage: str


def _move_set(
    lead_ids: Iterable[int], *, rule: domain.Rule, at: datetime, exclude_ids: Iterable[int] = ()
) -> list[Moved]:
    """One ``UPDATE … FROM (SELECT … FOR UPDATE) RETURNING`` moving the leads the rule applies to."""
    ids = sorted(set(lead_ids) - set(exclude_ids))
    if not ids:
        return []
    sources = sorted(domain.movable_stages(rule))
    target = domain.AUTOMATIC[rule][1]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE leads_lead l
               SET lifecycle_stage = %s, lifecycle_reason = '', lifecycle_changed_at = %s
              FROM (SELECT id, lifecycle_stage AS old_stage FROM leads_lead
                     WHERE id = ANY(%s) AND lifecycle_stage = ANY(%s)
                     ORDER BY id FOR UPDATE) o
             WHERE l.id = o.id
            RETURNING l.id, o.old_stage
            """,
            [target, at, ids, sources],
        )
        rows = cursor.fetchall()
    return [Moved(lead_id=int(lead_id), old_stage=str(old), stage=target) for lead_id, old in sorted(rows)]


def _publish_moves(moved: Sequence[Moved], *, rule: domain.Rule, reason: str | Mapping[int, str], at: datetime) -> None:
    core_events.publish_many(
        [
            LifecycleChanged(
                lead_id=move.lead_id,
                old_stage=move.old_stage,
                stage=move.stage,
                rule=rule.value,
                reason=reason if isinstance(reason, str) else reason.get(move.lead_id, ""),
            )
            for move in moved
        ],
        occurred_at=at,
    )


def on_scores_changed(changes: Mapping[int, ScoreChange], *, mql_threshold: int) -> None:
    """Leads whose score reached the MQL threshold now move subscriber/lead → MQL (rule "score_threshold").

    Set-based: one UPDATE for all of them, then their ``LifecycleChanged`` events in one INSERT. A lead moved back
    by hand stays put until its score crosses the threshold again.
    """
    crossed = {
        lead_id: change
        for lead_id, change in changes.items()
        if domain.crosses_threshold(change.old_score, change.score, mql_threshold)
    }
    if not crossed:  # the usual case on the intake path: no query at all
        return
    now = clock.now()
    with transaction.atomic(savepoint=False):
        moved = _move_set(crossed, rule=domain.Rule.SCORE_THRESHOLD, at=now)
        reasons = {m.lead_id: f"score {crossed[m.lead_id].score} ≥ {mql_threshold}" for m in moved}
        _publish_moves(moved, rule=domain.Rule.SCORE_THRESHOLD, reason=reasons, at=now)


def on_product_activity(lead_ids: Sequence[int]) -> None:
    """Product sign-up/activity makes subscribers, leads and MQLs product-qualified (rule "product_activity").
    Idempotent: a PQL (or anything past it) stays where it is."""
    if not lead_ids:
        return
    now = clock.now()
    with transaction.atomic(savepoint=False):
        moved = _move_set(lead_ids, rule=domain.Rule.PRODUCT_ACTIVITY, at=now)
        _publish_moves(moved, rule=domain.Rule.PRODUCT_ACTIVITY, reason="", at=now)


# --- By hand ---------------------------------------------------------------------------------------


def _write_stage(lead: Lead, *, stage: str, reason: str, at: datetime) -> None:
    lead.lifecycle_stage = stage
    lead.lifecycle_reason = reason
    lead.lifecycle_changed_at = at
    lead.status = domain.status_after_move(lead.status, stage)
    lead.updated_at = at
    lead.save(update_fields=["lifecycle_stage", "lifecycle_reason", "lifecycle_changed_at", "status", "updated_at"])


@transaction.atomic
def set_stage(*, lead_id: int, stage: str, actor: User, reason: str, note: str = "") -> Lead:
    """Move a lead by hand, recording who and why.

    ``reason`` is a code of ``DISQUALIFY_REASONS`` when disqualifying (``note`` adds free text; required for
    "other"), otherwise free text (required when moving back). A rep moving an MQL to SQL "accepts" it.
    Raises ``LeadNotFound`` (not visible), ``StageChangeNotAllowed`` (403), ``InvalidStageChange`` (422).
    """
    lead = _lead_for_update(actor, lead_id)
    if not can_move(actor, lead):
        raise StageChangeNotAllowed(_("You cannot change the stage of this lead."))
    problem = domain.check_manual_move(
        role=actor.role, current=lead.lifecycle_stage, target=stage, reason=reason, note=note
    )
    if problem is not None:
        error = StageChangeNotAllowed if problem.forbidden else InvalidStageChange
        message = _translated(problem.message)
        raise error(message, fields={problem.field: [message]})
    old = lead.lifecycle_stage
    text = domain.format_reason(reason, note)
    if old == domain.MQL and stage == domain.SQL and actor.role == "sales_rep" and not text:
        text = "accepted"
    now = clock.now()
    _write_stage(lead, stage=stage, reason=text if stage == domain.DISQUALIFIED else "", at=now)
    core_events.publish(
        LifecycleChanged(lead_id=lead.pk, actor_id=actor.pk, old_stage=old, stage=stage, reason=text),
        occurred_at=now,
    )
    return lead


@transaction.atomic
def update_bant(
    *,
    lead_id: int,
    actor: User,
    budget: str | None = None,
    authority: str | None = None,
    need: str | None = None,
    timing: str | None = None,
) -> Lead:
    """Record BANT answers (``None``: leave as is, "": unknown). All four known → SQL (rule "bant_complete").

    The changes are published as ``leads.LeadUpdated`` (timeline, rescore), the move as ``LifecycleChanged``.
    """
    lead = _lead_for_update(actor, lead_id)
    if not can_edit_bant(actor, lead):
        raise StageChangeNotAllowed(_("You cannot edit the qualification of this lead."))
    values, errors = domain.clean_bant({"budget": budget, "authority": authority, "need": need, "timing": timing})
    if errors:
        raise InvalidBant(
            _("Some fields are not valid."),
            fields={name: [_translated(m) for m in messages] for name, messages in errors.items()},
        )
    diff: dict[str, list[str]] = {}
    for name, value in values.items():
        column = BANT_COLUMNS[name]
        before = getattr(lead, column)
        if before != value:
            diff[column] = [before, value]
            setattr(lead, column, value)
    if not diff:
        return lead
    now = clock.now()
    lead.updated_at = now
    lead.save(update_fields=[*diff, "updated_at"])
    core_events.publish(LeadUpdated(lead_id=lead.pk, actor_id=actor.pk, changes=diff, channel="bant"), occurred_at=now)
    current = {name: getattr(lead, column) for name, column in BANT_COLUMNS.items()}
    target = domain.bant_target(lead.lifecycle_stage, current)
    if target is not None:
        old = lead.lifecycle_stage
        _write_stage(lead, stage=target, reason="", at=now)
        core_events.publish(
            LifecycleChanged(
                lead_id=lead.pk,
                actor_id=actor.pk,
                old_stage=old,
                stage=target,
                rule=domain.Rule.BANT_COMPLETE.value,
                reason="BANT 4/4",
            ),
            occurred_at=now,
        )
    return lead
