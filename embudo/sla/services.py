"""SLA clocks: started by routing, stopped by a first touch, reminded and escalated by jobs.

Interface used by other contexts (keep these signatures): :func:`start_clocks`, :func:`record_touch`,
:func:`start_clocks_of_new_leads` (routing's set-based assignments).

Invariants:

- At most one open clock per (lead, policy) (a partial unique index; a second start is a no-op).
- Each clock's reminder and breach check are procrastinate jobs scheduled at their exact times, deferred
  in the caller's transaction; the ``sla.sweep`` job (every minute, never two at once) catches anything
  overdue that a job missed.
- Every transition locks the clock row (``SELECT … FOR UPDATE SKIP LOCKED``) and re-checks its status:
  running a job twice, or a job and the sweeper together, breaches a clock once and reminds once.
- A breach reassigns only a lead nobody has touched, still owned by the clock's owner.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock, events
from embudo.core.domain import conditions
from embudo.core.events import JobToDefer, defer_jobs
from embudo.leads import condition_fields
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead
from embudo.sla import exceptions, selectors
from embudo.sla.domain.calendar import BusinessCalendar, add_business_minutes, business_minutes_between
from embudo.sla.events import SlaBreached, SlaMet
from embudo.sla.models import ClockStatus, Holiday, SlaClock, SlaPolicy, Trigger

logger = logging.getLogger(__name__)
SWEEP_BATCH = 500


# -- clocks -------------------------------------------------------------------------------------------------


def start_clocks(
    *,
    lead_id: int,
    trigger: str,
    lead: Lead | None = None,
    new_lead: bool = False,
    policies: list[SlaPolicy] | None = None,
) -> None:
    """Start the SLA clocks whose policy matches the lead now (``trigger``: "assigned", "hot", "sql", …).

    Needs an owner (a clock times a person). On "assigned", open clocks that still time a previous owner
    are cancelled and restarted for the new one, with the full target. ``lead``: the caller's current
    copy of the lead (routing has just loaded and assigned it), saving a read on the intake path.
    ``new_lead``: the lead was created in the caller's transaction, which no other can see, and this is
    its first owner: it has no clock yet, so the open ones are not looked up (a query less per intake).
    ``policies``: ``selectors.active_policies(trigger)`` when the caller read them already (routing reads
    them before it locks a pool, so that the lock is held for a query less).
    """
    if trigger not in Trigger.values:
        return
    if lead is None or lead.pk != lead_id:
        lead = leads_selectors.get_lead(lead_id)
    if lead is None or lead.owner_id is None or lead.outcome:
        return
    now = clock.now()
    # No savepoint: nothing here is caught and retried; an error dooms the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        # The open clocks as plain rows (a just-routed lead has none; this runs for every routed lead),
        # locked; only the stale ones are loaded as models, to be closed and restarted.
        open_rows: list[tuple[int, int, int | None]] = []
        if not new_lead:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, policy_id, owner_id FROM sla_slaclock WHERE lead_id = %s AND status = %s FOR UPDATE",
                    [lead_id, ClockStatus.OPEN],
                )
                open_rows = cursor.fetchall()
        restart: list[SlaPolicy] = []
        closed: set[int] = set()
        if trigger == Trigger.ASSIGNED:
            stale_ids = [clock_id for clock_id, _policy_id, owner_id in open_rows if owner_id != lead.owner_id]
            for stale in SlaClock.objects.select_related("policy").filter(pk__in=stale_ids) if stale_ids else ():
                _close(stale, ClockStatus.CANCELLED, now)
                restart.append(stale.policy)
                closed.add(stale.pk)
        restart = _matching(lead, [p for p in restart if p.active])
        open_policy_ids = {policy_id for clock_id, policy_id, _owner_id in open_rows if clock_id not in closed}
        active = policies if policies is not None else selectors.active_policies(trigger)
        candidates = [p for p in active if p.pk not in open_policy_ids]
        matching = _matching(lead, candidates)
        calendars: dict[bool, BusinessCalendar] = {}
        for policy in {p.pk: p for p in [*restart, *matching]}.values():
            _open_clock(lead, policy, now, calendars)


def _matching(lead: Lead, policies: list[SlaPolicy]) -> list[SlaPolicy]:
    if not policies:
        return []
    record = condition_fields.record_of(lead)
    found = []
    for policy in policies:
        if policy.team_id is not None and policy.team_id != lead.team_id:
            continue
        try:
            parsed = conditions.parse(policy.conditions or [], fields=condition_fields.FIELDS)
        except conditions.ConditionError:
            logger.warning("SLA policy %s has invalid conditions; skipped", policy.pk)
            continue
        if conditions.matches(parsed, record):
            found.append(policy)
    return found


def _calendar(policy: SlaPolicy, lead: Lead, cache: dict[bool, BusinessCalendar]) -> BusinessCalendar:
    if not policy.business_hours:
        return BusinessCalendar.always()
    if True not in cache:
        cache[True] = selectors.calendar_for(owner_id=lead.owner_id, team_id=lead.team_id)
    return cache[True]


def _open_clock(lead: Lead, policy: SlaPolicy, now: datetime, cache: dict[bool, BusinessCalendar]) -> int | None:
    return _open_clocks([(lead, policy, _calendar(policy, lead, cache))], now)[0]


def _open_clocks(starts: list[tuple[Lead, SlaPolicy, BusinessCalendar]], now: datetime) -> list[int | None]:
    """Open a clock per (lead, policy, calendar) in one statement, with their jobs; the ids in order (None: one
    was already open, another transaction opened it first)."""
    if not starts:
        return []
    rows = []
    for lead, policy, cal in starts:
        due = add_business_minutes(now, policy.target_minutes, cal)
        remind_at = None
        if 0 < policy.remind_before_minutes < policy.target_minutes:
            remind_at = add_business_minutes(now, policy.target_minutes - policy.remind_before_minutes, cal)
        rows.append((lead.pk, policy.pk, lead.owner_id, lead.team_id, policy.trigger, due, remind_at))
    # ON CONFLICT DO NOTHING (the one-open-clock-per-policy index): no savepoint on the intake path.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sla_slaclock (lead_id, policy_id, owner_id, team_id, trigger, status, started_at, due_at,
                                      remind_at, escalations)
            SELECT u.lead_id, u.policy_id, u.owner_id, u.team_id, u.trigger, 'open', %s, u.due_at, u.remind_at, 0
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[],
                        %s::timestamptz[]) WITH ORDINALITY
                 AS u(lead_id, policy_id, owner_id, team_id, trigger, due_at, remind_at, n)
            ORDER BY u.n
            ON CONFLICT DO NOTHING RETURNING id, lead_id, policy_id
            """,
            [now, *([r[i] for r in rows] for i in range(7))],
        )
        opened = {(int(lead_id), int(policy_id)): int(clock_id) for clock_id, lead_id, policy_id in cursor.fetchall()}
    ids: list[int | None] = []
    jobs = []
    for lead_id, policy_id, _owner, _team, _trigger, due, remind_at in rows:
        clock_id = opened.get((lead_id, policy_id))
        ids.append(clock_id)
        if clock_id is None:
            continue
        jobs.append(JobToDefer("sla.check_breach", {"clock_id": clock_id}, schedule_at=due))
        if remind_at is not None:
            jobs.append(JobToDefer("sla.remind", {"clock_id": clock_id}, schedule_at=remind_at))
    defer_jobs(jobs)
    return ids


def start_clocks_of_new_leads(leads: list[Lead], *, policies: list[SlaPolicy]) -> None:
    """:func:`start_clocks` with ``trigger="assigned"`` and ``new_lead`` for several leads created in the caller's
    transaction and just given their first owner (routing's set-based assignments): one statement for all their
    clocks. ``policies``: ``selectors.active_policies("assigned")``. Each owner's calendar is read once."""
    starts: list[tuple[Lead, SlaPolicy, BusinessCalendar]] = []
    calendars: dict[tuple[int | None, int | None], BusinessCalendar] = {}
    for lead in leads:
        if lead.owner_id is None or lead.outcome:
            continue
        for policy in _matching(lead, policies):
            if not policy.business_hours:
                starts.append((lead, policy, BusinessCalendar.always()))
                continue
            key = (lead.owner_id, lead.team_id)
            if key not in calendars:
                calendars[key] = selectors.calendar_for(owner_id=lead.owner_id, team_id=lead.team_id)
            starts.append((lead, policy, calendars[key]))
    with transaction.atomic(savepoint=False):
        _open_clocks(starts, clock.now())


def _close(target: SlaClock, status: str, at: datetime) -> None:
    target.status = status
    target.closed_at = at
    if status == ClockStatus.MET:
        target.met_at = at
    target.save(update_fields=["status", "closed_at", "met_at"])


def record_touch(*, lead_id: int, kind: str, at: datetime, actor_id: int | None) -> None:
    """A first touch (call, email, WhatsApp, meeting, stage change): stops the open clocks of the lead.

    On time → met (``sla.SlaMet``); after the deadline but before the breach job ran → breached late
    (``sla.SlaBreached`` with ``late_touch``; nobody is escalated to or reassigned: the lead was touched).
    """
    _mark_first_touch(lead_id, at)
    with transaction.atomic():
        touched = list(
            SlaClock.objects.select_for_update(of=("self",))
            .select_related("policy", "owner")
            .filter(lead_id=lead_id, status=ClockStatus.OPEN, started_at__lte=at)
        )
        calendars: dict[tuple[int | None, int | None], BusinessCalendar] = {}
        for c in touched:
            policy = c.policy
            if at <= c.due_at:
                _close(c, ClockStatus.MET, at)
                key = (c.owner_id, c.team_id)
                if policy.business_hours and key not in calendars:
                    calendars[key] = selectors.calendar_for(owner_id=c.owner_id, team_id=c.team_id)
                cal = calendars[key] if policy.business_hours else BusinessCalendar.always()
                minutes = round(business_minutes_between(c.started_at, at, cal), 1)
                events.publish(
                    SlaMet(lead_id=lead_id, actor_id=actor_id, clock_id=c.pk, policy_id=policy.pk,
                           policy_name=policy.name, owner_id=c.owner_id, touch=kind, minutes=minutes,
                           target_minutes=policy.target_minutes),
                    occurred_at=at,
                )  # fmt: skip
            else:
                c.status, c.breached_at, c.met_at, c.closed_at = ClockStatus.BREACHED, c.due_at, at, at
                c.save(update_fields=["status", "breached_at", "met_at", "closed_at"])
                events.publish(_breached_event(c, late_touch=kind), occurred_at=at)


def _mark_first_touch(lead_id: int, at: datetime) -> None:
    from embudo.routing import services as routing

    mark_speed = getattr(routing, "mark_speed", None)
    if mark_speed is not None:
        mark_speed(lead_id, first_touch=at)


def _breached_event(c: SlaClock, **extra: Any) -> SlaBreached:
    owner_name = c.owner.display_name if c.owner else ""
    return SlaBreached(lead_id=c.lead_id, clock_id=c.pk, policy_id=c.policy_id, policy_name=c.policy.name,
                       owner_id=c.owner_id, owner_name=owner_name, due_at=c.due_at.isoformat(),
                       target_minutes=c.policy.target_minutes, **extra)  # fmt: skip


def _lead_url(lead_id: int) -> str:
    return reverse("leads:detail", args=[lead_id])


def _notify(**kwargs: Any) -> None:
    from embudo.notifications import services as notifications

    notifications.notify(**kwargs)


def send_reminder(clock_id: int) -> bool:
    """Remind the owner that the deadline is near (once; False when there is nothing to do)."""
    now = clock.now()
    with transaction.atomic():
        c = (
            SlaClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("policy", "lead")
            .filter(pk=clock_id, status=ClockStatus.OPEN, reminded_at__isnull=True, due_at__gt=now)
            .first()
        )
        if c is None or c.owner_id is None or (c.remind_at is not None and c.remind_at > now):
            return False
        c.reminded_at = now
        c.save(update_fields=["reminded_at"])
        left = max(1, round((c.due_at - now).total_seconds() / 60))
        _notify(
            user_id=c.owner_id, kind="sla_reminder", lead_id=c.lead_id, team_id=c.team_id, url=_lead_url(c.lead_id),
            title=gettext_lazy("Contact %(lead)s: %(policy)s is due in %(minutes)s min"),
            params={"lead": c.lead, "policy": c.policy.name, "minutes": left},
            body=gettext_lazy("Log a call, email, WhatsApp or meeting to meet the service level."),
        )  # fmt: skip
        return True


def breach_clock(clock_id: int) -> bool:
    """An open clock past its deadline: breached; escalate to the team's managers and/or reassign to
    the next eligible rep, per policy. Idempotent (False when the clock is not open, not due, or is
    being handled by another worker)."""
    now = clock.now()
    lead_id = SlaClock.objects.filter(pk=clock_id, status=ClockStatus.OPEN).values_list("lead_id", flat=True).first()
    if lead_id is None:
        return False
    with transaction.atomic():
        # Lock order lead → clock, as a touch (routing holds the lead when it records one) and a
        # reassignment do: a breach and a touch of the same lead never deadlock.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM leads_lead WHERE id = %s FOR UPDATE", [lead_id])
        c = (
            SlaClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("policy", "lead", "owner")
            .filter(pk=clock_id, status=ClockStatus.OPEN, due_at__lte=now)
            .first()
        )
        if c is None:
            return False
        policy, lead = c.policy, c.lead
        c.status, c.breached_at, c.closed_at = ClockStatus.BREACHED, now, now
        escalated: list[int] = []
        if policy.escalate:
            escalated = selectors.manager_ids(lead.team_id or c.team_id)
            c.escalations += 1
        c.save(update_fields=["status", "breached_at", "closed_at", "escalations"])
        for manager_id in escalated:
            _notify(
                user_id=manager_id, kind="sla_breached", lead_id=c.lead_id, team_id=lead.team_id,
                url=_lead_url(c.lead_id),
                title=gettext_lazy("SLA breached: %(policy)s on %(lead)s"),
                body=gettext_lazy("%(owner)s did not touch the lead by the deadline."),
                params={"policy": policy.name, "lead": lead,
                        "owner": c.owner.display_name if c.owner else gettext_lazy("Nobody")},
            )  # fmt: skip
        new_owner = _reassign(c) if policy.reassign else None
        reassigned_name = ""
        if new_owner is not None:
            reassigned_name = User.objects.filter(pk=new_owner).values_list("full_name", flat=True).first() or ""
        events.publish(_breached_event(c, escalated_to=escalated, reassigned_to=new_owner,
                                       reassigned_to_name=reassigned_name))  # fmt: skip
        return True


def _reassign(c: SlaClock) -> int | None:
    """Hand the lead to the next eligible rep (routing) and time the new owner on the same policy."""
    lead = c.lead
    if lead.owner_id != c.owner_id or selectors.lead_was_touched(c.lead_id):
        return None
    from embudo.routing import services as routing

    reassign = getattr(routing, "reassign_to_next_eligible", None)
    if reassign is None:  # pragma: no cover - routing not wired yet
        logger.warning("routing.services.reassign_to_next_eligible is missing; lead %s not reassigned", c.lead_id)
        return None
    result = reassign(lead_id=c.lead_id, reason=f"SLA breached: {c.policy.name}", actor_id=None)
    new_owner: int | None = getattr(result, "owner_id", None) if result is not None else None
    if new_owner is None or new_owner == c.owner_id:
        return None
    # Routing starts the "assigned" clocks; this restarts the breached policy (a no-op if already open).
    fresh = leads_selectors.get_lead(c.lead_id)
    if fresh is not None and fresh.owner_id == new_owner:
        _open_clock(fresh, c.policy, clock.now(), {})
    return new_owner


def sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Breach overdue clocks and send due reminders that their jobs missed (bounded per run)."""
    now = clock.now()
    overdue = list(
        SlaClock.objects.filter(status=ClockStatus.OPEN, due_at__lte=now)
        .order_by("due_at")
        .values_list("id", flat=True)[:limit]
    )
    breached = sum(1 for clock_id in overdue if breach_clock(clock_id))
    due_reminders = list(
        SlaClock.objects.filter(status=ClockStatus.OPEN, reminded_at__isnull=True, remind_at__lte=now, due_at__gt=now)
        .order_by("remind_at")
        .values_list("id", flat=True)[:limit]
    )
    reminded = sum(1 for clock_id in due_reminders if send_reminder(clock_id))
    return {"breached": breached, "reminded": reminded}


# -- policies and holidays (managers, admins) ---------------------------------------------------------------


def _require_manager(actor: User) -> None:
    if not selectors.can_manage_policies(actor):
        raise exceptions.NotAllowed(_("Only managers and admins edit service levels."))


def validate_policy(data: dict[str, Any]) -> dict[str, Any]:
    """Clean a policy's fields; raises InvalidPolicy with field messages."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the policy a name.")]
    elif len(name) > 120:
        errors["name"] = [_("At most 120 characters.")]
    trigger = str(data.get("trigger") or "")
    if trigger not in Trigger.values:
        errors["trigger"] = [_("Choose when the clock starts.")]
    target, remind = data.get("target_minutes"), data.get("remind_before_minutes") or 0
    if not isinstance(target, int) or isinstance(target, bool) or not 0 < target <= 60 * 24 * 60:
        errors["target_minutes"] = [_("Give a number of minutes between 1 and 86400.")]
    if not isinstance(remind, int) or isinstance(remind, bool) or remind < 0:
        errors["remind_before_minutes"] = [_("Give 0 (no reminder) or a positive number of minutes.")]
    elif isinstance(target, int) and remind and remind >= target:
        errors["remind_before_minutes"] = [_("Remind before the deadline: less than the target.")]
    team_id = data.get("team_id")
    if team_id is not None and not accounts_selectors.team_exists(team_id):
        errors["team_id"] = [_("Unknown team.")]
    raw_conditions = data.get("conditions") or []
    parsed: list[conditions.Condition] = []
    if not isinstance(raw_conditions, list):
        errors["conditions"] = [_("Give a list of conditions.")]
    else:
        try:
            parsed = conditions.parse(raw_conditions, fields=condition_fields.FIELDS)
        except conditions.ConditionError as exc:
            errors.update(exc.fields)
    if errors:
        raise exceptions.InvalidPolicy(_("Some fields are not valid."), fields=errors)
    return {
        "name": name, "trigger": trigger, "target_minutes": target, "remind_before_minutes": remind,
        "conditions": [c.as_dict() for c in parsed], "team_id": data.get("team_id"),
        "active": bool(data.get("active", True)), "business_hours": bool(data.get("business_hours", True)),
        "escalate": bool(data.get("escalate", True)), "reassign": bool(data.get("reassign", False)),
    }  # fmt: skip


def save_policy(*, actor: User, data: dict[str, Any], policy_id: int | None = None) -> SlaPolicy:
    """Create or update a policy. Open clocks keep the deadline they started with."""
    _require_manager(actor)
    clean = validate_policy(data)
    now = clock.now()
    with transaction.atomic():
        if policy_id is None:
            return SlaPolicy.objects.create(**clean, created_at=now, updated_at=now)
        policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
        if policy is None:
            raise exceptions.PolicyNotFound(_("SLA policy not found."))
        for name, value in clean.items():
            setattr(policy, name, value)
        policy.updated_at = now
        policy.save()
        return policy


def delete_policy(*, actor: User, policy_id: int) -> None:
    """Delete a policy and its clocks (deactivate it instead to keep its compliance history)."""
    _require_manager(actor)
    deleted, _rows = SlaPolicy.objects.filter(pk=policy_id).delete()
    if not deleted:
        raise exceptions.PolicyNotFound(_("SLA policy not found."))


def add_holiday(*, actor: User, day: Any, name: str, team_id: int | None = None) -> Holiday:
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Give the holiday a name.")]
    if day is None:
        errors["date"] = [_("Give a date.")]
    if errors:
        raise exceptions.InvalidHoliday(_("Some fields are not valid."), fields=errors)
    try:
        with transaction.atomic():
            return Holiday.objects.create(date=day, name=name.strip(), team_id=team_id)
    except IntegrityError:
        raise exceptions.InvalidHoliday(
            _("Some fields are not valid."), fields={"date": [_("There is already a holiday on that date.")]}
        ) from None


def delete_holiday(*, actor: User, holiday_id: int) -> None:
    _require_manager(actor)
    Holiday.objects.filter(pk=holiday_id).delete()


def cancel_clocks_taken_over_by_merge(*, merged_id: int, survivor_id: int) -> int:
    """Before a merge moves the merged lead's clocks to the survivor: cancel its open clocks for policies
    the survivor already has an open clock for (one open clock per lead and policy). Returns how many."""
    return SlaClock.objects.filter(
        lead_id=merged_id,
        status=ClockStatus.OPEN,
        policy_id__in=SlaClock.objects.filter(lead_id=survivor_id, status=ClockStatus.OPEN).values("policy_id"),
    ).update(status=ClockStatus.CANCELLED, closed_at=clock.now())
