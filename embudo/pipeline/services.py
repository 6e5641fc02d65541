"""Writes of the pipeline context: deals (create, move, convert, win, lose, amount) and stage configuration.

Invariants:

- One deal per lead (unique ``lead_id``; creation is ``INSERT … ON CONFLICT DO NOTHING``); its ``owner_id`` and
  ``team_id`` copy the lead's (the board's indexes), and its stage belongs to the lead's team pipeline.
- Moving into a *lost* stage needs a reason; *won* closes the lead as won (outcome, ``closed_at``, status
  converted, lifecycle "customer"); *lost* records outcome "lost" with the reason; moving out of a closed
  stage reopens the deal and clears the outcome. Lead fields are written through ``leads.services
  .record_outcome`` and ``scoring.lifecycle.set_stage`` (history on the timeline).
- Every stage change publishes ``pipeline.DealStageChanged`` in the same transaction; a change by a person
  is also an SLA touch.
- Locks: the lead row first (via the actor's visible leads), then the deal row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils.translation import gettext as _

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock
from embudo.core import events as core_events
from embudo.leads import selectors as leads_selectors
from embudo.leads import services as leads_services
from embudo.leads.models import Lead
from embudo.pipeline import exceptions, selectors
from embudo.pipeline.domain import stages as domain
from embudo.pipeline.events import DealAmountChanged, DealStageChanged
from embudo.pipeline.models import Deal, GradeSync, Stage, StageKind
from embudo.scoring import lifecycle
from embudo.scoring.events import GradeChanged

_HUMAN_ROLES = ("sales_rep", "manager", "admin")
_MESSAGES = {
    "This stage is not active.": lambda: _("This stage is not active."),
    "The deal is already in this stage.": lambda: _("The deal is already in this stage."),
    f"At most {domain.MAX_REASON} characters.": lambda: _("At most 200 characters."),
    "Say why the deal was lost.": lambda: _("Say why the deal was lost."),
    "Enter a number.": lambda: _("Enter a number."),
    "The amount cannot be negative.": lambda: _("The amount cannot be negative."),
    "The amount is too large.": lambda: _("The amount is too large."),
}


def _t(message: str) -> str:
    translate = _MESSAGES.get(message)
    return translate() if translate else message


# --- Permissions ---------------------------------------------------------------------------------------


def can_work(actor: User, lead: Lead) -> bool:
    """Reps on the leads they own, managers on their teams' leads (and their own), admins on all."""
    return lifecycle.can_work_lead(actor, lead)


def _locked_lead(actor: User, lead_id: int) -> Lead:
    lead = leads_selectors.leads_visible_to(actor).select_for_update(of=("self",)).filter(pk=lead_id).first()
    if lead is None:
        raise exceptions.DealNotFound(_("Lead not found."))
    if not can_work(actor, lead):
        raise exceptions.DealNotAllowed(_("You cannot change the deal of this lead."))
    return lead


# --- Column totals (the board's counts and sums, kept with every deal write) ---------------------------

_Slot = tuple[int, int | None, int | None]  # (stage_id, owner_id, team_id)


def _slot(deal: Deal) -> _Slot:
    return (deal.stage_id, deal.owner_id, deal.team_id)


def _bump(changes: dict[_Slot, tuple[int, Decimal]]) -> None:
    """Add (deals, amount) to each (stage, owner, team) total: one UPSERT, rows in key order (no deadlocks)."""
    rows = sorted((k, v) for k, v in changes.items() if v != (0, Decimal("0")))
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pipeline_stagetotal (stage_id, owner_id, team_id, deals, amount)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::numeric[])
            ON CONFLICT (stage_id, owner_id, team_id)
            DO UPDATE SET deals = pipeline_stagetotal.deals + EXCLUDED.deals,
                          amount = pipeline_stagetotal.amount + EXCLUDED.amount
            """,
            [[k[0] for k, _ in rows], [k[1] for k, _ in rows], [k[2] for k, _ in rows],
             [v[0] for _, v in rows], [v[1] for _, v in rows]],
        )  # fmt: skip


def _moved(old: _Slot, old_amount: Decimal, new: _Slot, new_amount: Decimal) -> None:
    changes: dict[_Slot, tuple[int, Decimal]] = {old: (-1, -old_amount)}
    n, a = changes.get(new, (0, Decimal("0")))
    changes[new] = (n + 1, a + new_amount)
    _bump(changes)


def rebuild_totals(*, team_id: int | None = None) -> int:
    """Recompute the column totals from the deals (all, or one team's): set-based; returns the rows written.

    Runs nightly (``pipeline.rebuild_totals``) to absorb deals removed with their lead (a merge, a deletion).
    """
    where, params = ("WHERE team_id = %s", [team_id]) if team_id is not None else ("", [])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM pipeline_stagetotal {where}", params)  # noqa: S608 - fixed fragments
        cursor.execute(
            f"""INSERT INTO pipeline_stagetotal (stage_id, owner_id, team_id, deals, amount)
                SELECT stage_id, owner_id, team_id, count(*), sum(amount) FROM pipeline_deal {where}
                GROUP BY stage_id, owner_id, team_id""",  # noqa: S608 - fixed fragments
            params,
        )
        return int(cursor.rowcount)


# --- Grades on the deals -------------------------------------------------------------------------------

GRADE_SYNC = "deals"
SYNC_WINDOW = 200_000  # event ids read per statement (a pkey range of core_domainevent)
# Events are numbered when inserted but seen when committed: a transaction still open while the checkpoint
# passed its ids (a bulk rescoring batch) is caught by re-reading the ids of the last 10 to 20 minutes.
RECHECK_EVERY = timedelta(minutes=10)

_SYNC_WINDOW_SQL = """
WITH moved AS (
    -- ``type || ''``: read the id range on the primary key, never all the GradeChanged rows on their type index
    SELECT DISTINCT lead_id FROM core_domainevent
     WHERE id > %s AND id <= %s AND type || '' = %s AND lead_id IS NOT NULL
)
UPDATE pipeline_deal d SET grade = l.grade
  FROM moved m JOIN leads_lead l ON l.id = m.lead_id
 WHERE d.lead_id = l.id AND d.grade <> l.grade
"""


def _sync_window(after: int, until: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_SYNC_WINDOW_SQL, [after, until, GradeChanged.type_name()])
        return max(int(cursor.rowcount), 0)


def _checkpoint() -> GradeSync:
    GradeSync.objects.get_or_create(name=GRADE_SYNC)
    return GradeSync.objects.select_for_update().get(name=GRADE_SYNC)


def sync_grades(*, window: int = SYNC_WINDOW) -> int:
    """Copy the lead's grade onto the deals of the leads whose grade moved since the checkpoint (every grade
    move, one by one or bulk rescoring, writes a ``scoring.GradeChanged`` row): set-based, one statement per
    window of event ids, each window in its own transaction with the checkpoint; then the ids of the last
    10-20 minutes again (events committed late). Idempotent (only differing deals are written); returns the
    deals updated. ``resync_all_grades`` (nightly) repairs anything older."""
    updated = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM core_domainevent")
        row = cursor.fetchone()
    top = int(row[0]) if row else 0
    with transaction.atomic():
        state = _checkpoint()
        recheck_from, started_at = state.recheck_from_id, state.last_event_id
    while True:
        with transaction.atomic():
            state = _checkpoint()
            if state.last_event_id >= top:
                break
            until = min(top, state.last_event_id + window)
            updated += _sync_window(state.last_event_id, until)
            state.last_event_id, state.synced_at = until, clock.now()
            state.save(update_fields=["last_event_id", "synced_at"])
    for after in range(recheck_from, started_at, window):  # late commits: already-read ids again
        with transaction.atomic():
            updated += _sync_window(after, min(started_at, after + window))
    with transaction.atomic():
        state = _checkpoint()
        now = clock.now()
        if state.rotated_at is None or now - state.rotated_at >= RECHECK_EVERY:
            # Two generations: the recheck always starts at a checkpoint at least RECHECK_EVERY old.
            state.recheck_from_id, state.recent_event_id = state.recent_event_id, started_at
            state.rotated_at = now
            state.save(update_fields=["recheck_from_id", "recent_event_id", "rotated_at"])
    return updated


def resync_all_grades() -> int:
    """Every deal whose grade differs from its lead's (stragglers the checkpoint missed): set-based."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pipeline_deal d SET grade = l.grade FROM leads_lead l WHERE d.lead_id = l.id AND d.grade <> l.grade"
        )
        return max(int(cursor.rowcount), 0)


# --- Deals ---------------------------------------------------------------------------------------------


def _insert_deal(*, lead: Lead, stage: Stage, now: datetime, amount: Decimal = Decimal("0")) -> Deal | None:
    """``INSERT … ON CONFLICT (lead_id) DO NOTHING``: None when the lead already has a deal."""
    closed_at = now if stage.kind != StageKind.OPEN else None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pipeline_deal (lead_id, stage_id, amount, currency, owner_id, team_id, lost_reason,
                                       stage_entered_at, created_at, updated_at, closed_at, grade)
            VALUES (%s, %s, %s, 'EUR', %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (lead_id) DO NOTHING RETURNING id
            """,
            [lead.pk, stage.pk, amount, lead.owner_id, lead.team_id,
             lead.outcome_reason if stage.kind == StageKind.LOST else "", now, now, now, closed_at, lead.grade],
        )  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        return None
    _bump({(stage.pk, lead.owner_id, lead.team_id): (1, amount)})
    return Deal.objects.select_related("stage").get(pk=row[0])


def ensure_default_stages() -> None:
    """The default pipeline (the data migration creates it; a database flushed by tests loses it). Idempotent."""
    if Stage.objects.filter(team__isnull=True).exists():
        return
    specs = list(enumerate(domain.DEFAULT_STAGES))
    with connection.cursor() as cursor:
        # One statement, so all of them or none: row by row in autocommit, a concurrent TRUNCATE (a test's flush)
        # could land between two rows and leave half a pipeline that this check then takes for a whole one.
        cursor.execute(
            "INSERT INTO pipeline_stage (team_id, key, name, position, kind, probability, active) "
            "SELECT NULL, u.key, u.name, u.position, u.kind, u.probability, true "
            "FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::int[]) "
            "AS u(key, name, position, kind, probability) ON CONFLICT DO NOTHING",
            [[spec.key for _, spec in specs], [spec.name for _, spec in specs], [position for position, _ in specs],
             [spec.kind.value for _, spec in specs], [spec.probability for _, spec in specs]],
        )  # fmt: skip


def _stages_for(team_id: int | None) -> list[Stage]:
    stages = selectors.pipeline_stages_for_lead(team_id)
    if not stages:
        ensure_default_stages()
        stages = selectors.pipeline_stages_for_lead(team_id)
    return stages


def _initial_stage(lead: Lead) -> Stage:
    stages = _stages_for(lead.team_id)
    wanted = {"won": StageKind.WON, "lost": StageKind.LOST}.get(lead.outcome, StageKind.OPEN)
    stage = next((s for s in stages if s.kind == wanted and s.active), None)
    stage = stage or next((s for s in stages if s.kind == StageKind.OPEN and s.active), None)
    if stage is None:
        raise exceptions.InvalidStage(_("This pipeline has no open stage."), fields={"stage_id": [_("No stage.")]})
    return stage


def _deal_for_update(lead: Lead, *, actor_id: int | None) -> tuple[Deal, bool]:
    """The lead's deal (locked), created in the first open stage when missing."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").filter(lead_id=lead.pk).first()
    if deal is not None:
        return deal, False
    now = clock.now()
    stage = _initial_stage(lead)
    created = _insert_deal(lead=lead, stage=stage, now=now)
    if created is None:  # a concurrent transaction created it first
        return Deal.objects.select_for_update(of=("self",)).select_related("stage").get(lead_id=lead.pk), False
    _publish_stage_change(created, old=None, actor_id=actor_id, at=now, automatic=actor_id is None)
    return created, True


def _publish_stage_change(
    deal: Deal, *, old: Stage | None, actor_id: int | None, at: datetime, automatic: bool = False
) -> None:
    core_events.publish(
        DealStageChanged(
            lead_id=deal.lead_id,
            actor_id=actor_id,
            deal_id=deal.pk,
            old_stage_key=old.key if old else "",
            old_stage_name=old.name if old else "",
            stage_key=deal.stage.key,
            stage_kind=deal.stage.kind,
            stage_name=deal.stage.name,
            team_id=deal.team_id,
            amount=str(deal.amount),
            currency=deal.currency,
            lost_reason=deal.lost_reason,
            automatic=automatic,
        ),
        occurred_at=at,
    )


@transaction.atomic
def ensure_deal(*, lead_id: int, actor: User | None = None) -> Deal:
    """The lead's deal, created in the first open stage of its team's pipeline when missing (idempotent).

    With an ``actor`` the lead must be visible to them (else ``DealNotFound``).
    """
    if actor is not None:
        lead = leads_selectors.get_lead_visible_to(actor, lead_id)
    else:
        lead = leads_selectors.get_lead(lead_id)
    if lead is None:
        raise exceptions.DealNotFound(_("Lead not found."))
    deal, _created = _deal_for_update(lead, actor_id=actor.pk if actor else None)
    return deal


def _resolve_target(deal: Deal, lead: Lead, stage_id: int) -> Stage:
    stages = _stages_for(lead.team_id)
    target = next((s for s in stages if s.pk == stage_id), None)
    if target is None:
        message = _("Choose a stage of this pipeline.")
        raise exceptions.InvalidMove(message, fields={"stage_id": [message]})
    return target


def _clean_amount(amount: Any) -> Decimal | None:
    value, error = domain.parse_amount(amount)
    if error is not None:
        raise exceptions.InvalidDeal(_t(error), fields={"amount": [_t(error)]})
    return value


def _apply_move(
    *, deal: Deal, lead: Lead, target: Stage, actor: User | None, lost_reason: str, amount: Decimal | None
) -> Deal:
    """Move ``deal`` (locked) to ``target`` and apply what it means for the lead."""
    current = deal.stage
    problem = domain.check_move(
        current=domain.StageRef(id=current.pk, key=current.key, kind=current.kind, active=current.active),
        target=domain.StageRef(id=target.pk, key=target.key, kind=target.kind, active=target.active),
        lost_reason=lost_reason,
    )
    if problem is not None:
        message = _t(problem.message)
        raise exceptions.InvalidMove(message, fields={problem.field: [message]})
    now = clock.now()
    old_slot, old_amount = _slot(deal), deal.amount
    reason = domain.clean_reason(lost_reason) if target.kind == StageKind.LOST else ""
    deal.stage = target
    deal.stage_entered_at = now
    deal.updated_at = now
    deal.lost_reason = reason
    deal.closed_at = now if target.kind != StageKind.OPEN else None
    if amount is not None:
        deal.amount = amount
    deal.owner_id, deal.team_id, deal.grade = lead.owner_id, lead.team_id, lead.grade
    deal.save(
        update_fields=["stage", "stage_entered_at", "updated_at", "lost_reason", "closed_at", "amount", "owner",
                       "team", "grade"]
    )  # fmt: skip
    _moved(old_slot, old_amount, _slot(deal), deal.amount)
    effect = domain.effect_of(old_kind=current.kind, new_kind=target.kind)
    if effect.outcome is not None:
        leads_services.record_outcome(
            lead_id=lead.pk, outcome=effect.outcome, reason=reason, at=now if effect.closes else None, actor=actor
        )
    if effect.lifecycle is not None and actor is not None and lead.lifecycle_stage != effect.lifecycle:
        why = _("Deal won") if target.kind == StageKind.WON else _("Deal reopened")
        lifecycle.set_stage(lead_id=lead.pk, stage=effect.lifecycle, actor=actor, reason=why)
    _publish_stage_change(deal, old=current, actor_id=actor.pk if actor else None, at=now,
                          automatic=actor is None)  # fmt: skip
    if actor is not None and actor.role in _HUMAN_ROLES:
        from embudo.sla import services as sla_services

        sla_services.record_touch(lead_id=lead.pk, kind="stage_change", at=now, actor_id=actor.pk)
    return deal


@transaction.atomic
def move_deal(
    *, actor: User, lead_id: int, stage_id: int, lost_reason: str = "", amount: Decimal | str | None = None
) -> Deal:
    """Move the lead's deal to ``stage_id`` (a stage of its team's pipeline), creating the deal if needed.

    Raises ``DealNotFound`` (lead not visible), ``DealNotAllowed`` (403), ``InvalidMove``/``InvalidDeal`` (422:
    unknown/inactive stage, same stage, lost without a reason, bad amount).
    """
    value = _clean_amount(amount)
    lead = _locked_lead(actor, lead_id)
    deal, created = _deal_for_update(lead, actor_id=actor.pk)
    target = _resolve_target(deal, lead, stage_id)
    if created and target.pk == deal.stage_id:  # the deal was just opened in this very stage
        if value is not None and value != deal.amount:
            _set_amount(deal, amount=value, currency=None, actor=actor)
        return deal
    return _apply_move(deal=deal, lead=lead, target=target, actor=actor, lost_reason=lost_reason, amount=value)


def _stage_of_kind(lead: Lead, kind: str) -> Stage:
    stage = next((s for s in _stages_for(lead.team_id) if s.kind == kind and s.active), None)
    if stage is None:
        message = _("This pipeline has no active stage of this kind.")
        raise exceptions.InvalidMove(message, fields={"stage_id": [message]})
    return stage


@transaction.atomic
def mark_won(*, actor: User, lead_id: int, amount: Decimal | str | None = None) -> Deal:
    """Close the deal as won: the lead becomes a customer (outcome "won", status converted)."""
    value = _clean_amount(amount)
    lead = _locked_lead(actor, lead_id)
    deal, _created = _deal_for_update(lead, actor_id=actor.pk)
    if deal.stage.kind == StageKind.WON:
        if value is not None and value != deal.amount:
            _set_amount(deal, amount=value, currency=None, actor=actor)
        return deal
    target = _stage_of_kind(lead, StageKind.WON)
    return _apply_move(deal=deal, lead=lead, target=target, actor=actor, lost_reason="", amount=value)


@transaction.atomic
def mark_lost(*, actor: User, lead_id: int, reason: str) -> Deal:
    """Close the deal as lost with a reason (required): outcome "lost" is predictive scoring's training data."""
    lead = _locked_lead(actor, lead_id)
    deal, _created = _deal_for_update(lead, actor_id=actor.pk)
    target = _stage_of_kind(lead, StageKind.LOST)
    if deal.stage_id == target.pk:
        message = _("The deal is already lost.")
        raise exceptions.InvalidMove(message, fields={"stage_id": [message]})
    return _apply_move(deal=deal, lead=lead, target=target, actor=actor, lost_reason=reason, amount=None)


@transaction.atomic
def convert_to_opportunity(*, actor: User, lead_id: int, amount: Decimal | str | None = None) -> Deal:
    """A qualified lead becomes an opportunity (lifecycle, with history) with a deal on the board.

    A closed deal must be reopened (moved to an open stage) first.
    """
    value = _clean_amount(amount)
    lead = _locked_lead(actor, lead_id)
    deal, _created = _deal_for_update(lead, actor_id=actor.pk)
    if deal.stage.kind != StageKind.OPEN:
        message = _("The deal is closed: move it to an open stage to reopen it.")
        raise exceptions.InvalidMove(message, fields={"stage_id": [message]})
    if lead.lifecycle_stage not in ("opportunity", "customer"):
        lifecycle.set_stage(lead_id=lead.pk, stage="opportunity", actor=actor, reason=_("Converted to opportunity"))
    if value is not None and value != deal.amount:
        _set_amount(deal, amount=value, currency=None, actor=actor)
    return deal


def _set_amount(deal: Deal, *, amount: Decimal, currency: str | None, actor: User) -> None:
    old_amount, old_currency = deal.amount, deal.currency
    deal.amount = amount
    if currency:
        deal.currency = currency
    deal.updated_at = clock.now()
    deal.save(update_fields=["amount", "currency", "updated_at"])
    _bump({_slot(deal): (0, deal.amount - old_amount)})
    core_events.publish(
        DealAmountChanged(lead_id=deal.lead_id, actor_id=actor.pk, deal_id=deal.pk, old_amount=str(old_amount),
                          amount=str(deal.amount), old_currency=old_currency, currency=deal.currency),
        occurred_at=deal.updated_at,
    )  # fmt: skip


@transaction.atomic
def set_amount(*, actor: User, lead_id: int, amount: Decimal | str | None, currency: str | None = None) -> Deal:
    """Change the deal's value (and currency); recorded on the timeline."""
    value = _clean_amount(amount)
    if value is None:
        message = _("Enter a number.")
        raise exceptions.InvalidDeal(message, fields={"amount": [message]})
    if currency is not None and currency not in domain.CURRENCIES:
        message = _("Unknown currency.")
        raise exceptions.InvalidDeal(message, fields={"currency": [message]})
    lead = _locked_lead(actor, lead_id)
    deal, _created = _deal_for_update(lead, actor_id=actor.pk)
    if value != deal.amount or (currency and currency != deal.currency):
        _set_amount(deal, amount=value, currency=currency, actor=actor)
    return deal


# --- Reactions (jobs) ------------------------------------------------------------------------------------


@transaction.atomic
def follow_owner(*, lead_id: int) -> Deal | None:
    """After an assignment: an owned lead enters its owner's board (deal created in the first open stage);
    an existing deal follows the lead's current owner and team (and the team's pipeline). Idempotent."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").filter(lead_id=lead_id).first()
    lead = leads_selectors.get_lead(lead_id)
    if lead is None:
        return None
    if deal is None:
        if lead.owner_id is None or lead.lifecycle_stage == "disqualified":
            return None
        created, _created = _deal_for_update(lead, actor_id=None)
        return created
    changed = []
    old_slot = _slot(deal)
    if deal.team_id != lead.team_id:
        stages = selectors.pipeline_stages_for_lead(lead.team_id)
        if deal.stage not in stages:
            target = domain.same_key_or_first(selectors.refs(stages), deal.stage.key)
            if target is not None:
                deal.stage_id = target.id
                changed.append("stage")
        deal.team_id = lead.team_id
        changed.append("team")
    if deal.owner_id != lead.owner_id:
        deal.owner_id = lead.owner_id
        changed.append("owner")
    if deal.grade != lead.grade:
        deal.grade = lead.grade
        changed.append("grade")
    if changed:
        deal.updated_at = clock.now()
        deal.save(update_fields=[*changed, "updated_at"])
        _moved(old_slot, deal.amount, _slot(deal), deal.amount)
    return deal


@transaction.atomic
def mark_contacted(*, lead_id: int) -> Deal | None:
    """A first interaction moves a deal still in the first stage ("new") to "contacted", as the system."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").filter(lead_id=lead_id).first()
    if deal is None or deal.stage.key != domain.FIRST_KEY:
        return None
    lead = leads_selectors.get_lead(lead_id)
    if lead is None:
        return None
    target = next(
        (s for s in selectors.pipeline_stages_for_lead(lead.team_id) if s.key == domain.CONTACTED_KEY and s.active),
        None,
    )
    if target is None:
        return None
    return _apply_move(deal=deal, lead=lead, target=target, actor=None, lost_reason="", amount=None)


# --- Stage configuration -------------------------------------------------------------------------------


def can_configure(actor: User, team_id: int | None) -> bool:
    """Admins configure every pipeline (the default one too); managers their teams' pipelines."""
    if actor.role == "admin":
        return True
    return actor.role == "manager" and team_id is not None and team_id in accounts_selectors.team_ids_of(actor)


def _of_team(team_id: int | None) -> Q:
    return Q(team__isnull=True) if team_id is None else Q(team_id=team_id)


def _check_configure(actor: User, team_id: int | None) -> None:
    if not can_configure(actor, team_id):
        raise exceptions.DealNotAllowed(_("You cannot configure this pipeline."))


def _stage_for_update(actor: User, stage_id: int) -> Stage:
    stage = Stage.objects.select_for_update().filter(pk=stage_id).first()
    if stage is None:
        raise exceptions.StageNotFound(_("Stage not found."))
    _check_configure(actor, stage.team_id)
    return stage


def _clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        message = _("Give the stage a name.")
        raise exceptions.InvalidStage(message, fields={"name": [message]})
    if len(text) > domain.MAX_NAME:
        message = _("At most 60 characters.")
        raise exceptions.InvalidStage(message, fields={"name": [message]})
    return text


def _clean_probability(probability: Any) -> int:
    try:
        value = int(probability)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= 100:
        message = _("Enter a percentage from 0 to 100.")
        raise exceptions.InvalidStage(message, fields={"probability": [message]})
    return value


@transaction.atomic
def copy_default_stages(*, actor: User, team_id: int) -> list[Stage]:
    """Give a team its own copy of the default stages to customise; its deals move to the copies (by key)."""
    _check_configure(actor, team_id)
    if not accounts_selectors.team_exists(team_id):
        raise exceptions.StageNotFound(_("Team not found."))
    if Stage.objects.filter(team_id=team_id).exists():
        return selectors.list_stages(team_id, include_inactive=True)
    ensure_default_stages()
    defaults = selectors.list_stages(None, include_inactive=True)
    copies = Stage.objects.bulk_create(
        [Stage(team_id=team_id, key=s.key, name=s.name, position=s.position, kind=s.kind,
               probability=s.probability, active=s.active) for s in defaults]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE pipeline_deal d SET stage_id = t.id
              FROM pipeline_stage o, pipeline_stage t
             WHERE d.team_id = %s AND d.stage_id = o.id AND o.team_id IS NULL
               AND t.team_id = %s AND t.key = o.key
            """,
            [team_id, team_id],
        )
    rebuild_totals(team_id=team_id)
    return copies


@transaction.atomic
def add_stage(*, actor: User, team_id: int | None, name: str, kind: str = "open", probability: Any = 0) -> Stage:
    """A new stage; open stages go after the last open one (before Won/Lost)."""
    _check_configure(actor, team_id)
    if team_id is not None and not Stage.objects.filter(team_id=team_id).exists():
        copy_default_stages(actor=actor, team_id=team_id)
    text = _clean_name(name)
    if kind not in StageKind.values:
        message = _("Unknown kind.")
        raise exceptions.InvalidStage(message, fields={"kind": [message]})
    value = _clean_probability(probability)
    stages = list(Stage.objects.select_for_update().filter(_of_team(team_id)).order_by("position", "id"))
    key = domain.unique_key(text, {s.key for s in stages})
    open_positions = [s.position for s in stages if s.kind == StageKind.OPEN]
    if kind == StageKind.OPEN and open_positions:
        position = max(open_positions) + 1
        Stage.objects.filter(_of_team(team_id), position__gte=position).update(position=F("position") + 1)
    else:
        position = (Stage.objects.filter(_of_team(team_id)).aggregate(m=Max("position"))["m"] or 0) + 1
    return Stage.objects.create(team_id=team_id, key=key, name=text, kind=kind, probability=value, position=position)


@transaction.atomic
def update_stage(
    *, actor: User, stage_id: int, name: str | None = None, probability: Any = None, active: bool | None = None
) -> Stage:
    stage = _stage_for_update(actor, stage_id)
    fields: list[str] = []
    if name is not None:
        stage.name = _clean_name(name)
        fields.append("name")
    if probability is not None:
        stage.probability = _clean_probability(probability)
        fields.append("probability")
    if active is not None and active != stage.active:
        if not active:
            _check_not_last(stage)
        stage.active = active
        fields.append("active")
    if fields:
        stage.save(update_fields=fields)
    return stage


def _check_not_last(stage: Stage) -> None:
    others = Stage.objects.filter(_of_team(stage.team_id), kind=stage.kind, active=True).exclude(pk=stage.pk)
    if not others.exists():
        message = _("A pipeline needs at least one active stage of each kind (open, won, lost).")
        raise exceptions.InvalidStage(message, fields={"active": [message]})


@transaction.atomic
def move_stage(*, actor: User, stage_id: int, direction: str) -> Stage:
    """Swap a stage with its neighbour (``direction`` "up" or "down")."""
    stage = _stage_for_update(actor, stage_id)
    stages = list(Stage.objects.select_for_update().filter(_of_team(stage.team_id)).order_by("position", "id"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(stages):
        return stage
    stages[index], stages[other] = stages[other], stages[index]
    for position, s in enumerate(stages):
        if s.position != position:
            s.position = position
            s.save(update_fields=["position"])
    return stage


@transaction.atomic
def delete_stage(*, actor: User, stage_id: int) -> None:
    """Delete an empty stage; one holding deals can only be deactivated (``StageInUse``)."""
    stage = _stage_for_update(actor, stage_id)
    if Deal.objects.filter(stage_id=stage.pk).exists():
        message = _("This stage holds deals: deactivate it instead, or move its deals first.")
        raise exceptions.StageInUse(message, fields={"stage_id": [message]})
    if stage.active:
        _check_not_last(stage)
    stage.delete()


# --- Merges (called by dedupe in its merge transaction) ------------------------------------------------

_DEAL_COLUMNS = ("id", "stage_id", "amount", "currency", "owner_id", "team_id", "lost_reason", "stage_entered_at",
                 "created_at", "updated_at", "closed_at")  # fmt: skip


def _deal_snapshot(deal: Deal) -> dict[str, Any]:
    """Every column of a deal as JSON-safe values (for an exact undo)."""
    values: dict[str, Any] = {}
    for name in _DEAL_COLUMNS:
        value = getattr(deal, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(
            value, Decimal) else value  # fmt: skip
    return values


def hand_over_deal_on_merge(*, merged_id: int, survivor_id: int) -> dict[str, Any] | None:
    """One person, one deal: when lead ``merged_id`` is merged into ``survivor_id``, the survivor keeps its
    own deal if it has one and the merged lead's deal is removed; otherwise the merged lead's deal moves to
    the survivor and follows its owner and team. Column totals follow in the same transaction.

    Returns what ``restore_deal_after_unmerge`` needs to undo it exactly (None: the merged lead had none)."""
    deals = {d.lead_id: d for d in Deal.objects.select_for_update().filter(lead_id__in=[merged_id, survivor_id])}
    merged = deals.get(merged_id)
    if merged is None:
        return None
    snapshot = _deal_snapshot(merged)
    if survivor_id in deals:
        _bump({_slot(merged): (-1, -merged.amount)})
        merged.delete()
        return {"deal": snapshot, "moved": False}
    survivor = leads_selectors.get_lead(survivor_id)
    old_slot = _slot(merged)
    Deal.objects.filter(pk=merged.pk).update(
        lead_id=survivor_id,
        owner_id=survivor.owner_id if survivor else merged.owner_id,
        team_id=survivor.team_id if survivor else merged.team_id,
        grade=survivor.grade if survivor else merged.grade,
    )
    merged.refresh_from_db()
    _moved(old_slot, merged.amount, _slot(merged), merged.amount)
    return {"deal": snapshot, "moved": True}


def restore_deal_after_unmerge(*, merged_id: int, handed_over: dict[str, Any]) -> None:
    """Undo ``hand_over_deal_on_merge``: the merged lead (already re-inserted) gets its deal back, every
    column as it was, and the column totals follow."""
    snapshot = handed_over["deal"]
    values = {name: snapshot[name] for name in _DEAL_COLUMNS if name != "id"}
    values["amount"] = Decimal(values["amount"])
    for name in ("stage_entered_at", "created_at", "updated_at", "closed_at"):
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    restored = Deal(id=snapshot["id"], lead_id=merged_id, **values)
    grade = Lead.objects.filter(pk=merged_id).values_list("grade", flat=True).first()
    restored.grade = grade or snapshot.get("grade") or "cold"
    current = Deal.objects.select_for_update().filter(pk=snapshot["id"]).first()
    if handed_over.get("moved") and current is not None:
        old_slot, old_amount = _slot(current), current.amount
        restored.save(force_update=True)
        _moved(old_slot, old_amount, _slot(restored), restored.amount)
    else:
        restored.save(force_insert=True)
        _bump({_slot(restored): (1, restored.amount)})
