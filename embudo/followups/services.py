"""Writes of the followups context: tasks (by hand and by rules), their reminders, and task rules.

Interface used by other contexts (keep these signatures): :func:`create_task`, :func:`complete_task`.

Invariants:

- A task's reminder is a procrastinate job scheduled at ``remind_at``, deferred in the writing transaction.
  Rescheduling moves ``remind_at`` and clears ``reminded_at``; the old job then finds ``remind_at`` in the
  future (or the reminder already sent) and does nothing. The ``followups.sweep_reminders`` job (every
  minute) sends reminders whose job was lost. A completed task is never reminded.
- A reminder is sent once: the sender locks the task row (``FOR UPDATE SKIP LOCKED``) and re-checks it.
- Tasks due in the past may be created (logging what was done or missed) but get no reminder.
- A rule creates at most one task per stage entry (unique ``(rule, rule_event_id)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock, events
from embudo.followups import domain, exceptions, selectors
from embudo.followups.events import TaskCompleted, TaskCreated
from embudo.followups.models import Task, TaskKind, TaskRule
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead

logger = logging.getLogger(__name__)
MAX_TITLE = 200
MAX_NOTES = 5000
MAX_REMIND_MINUTES = 7 * 24 * 60
SWEEP_BATCH = 500


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# -- validation -------------------------------------------------------------------------------------------


def _clean(
    *, kind: Any, title: Any, due_at: Any, notes: Any, remind_minutes_before: Any, errors: dict[str, list[str]]
) -> None:
    if kind is not UNSET and kind not in TaskKind.values:
        errors["kind"] = [_("Choose a type: call, email, meeting, WhatsApp, follow-up or other.")]
    if title is not UNSET:
        if not str(title or "").strip():
            errors["title"] = [_("Say what to do.")]
        elif len(str(title).strip()) > MAX_TITLE:
            errors["title"] = [_("At most %(n)s characters.") % {"n": MAX_TITLE}]
    if due_at is not UNSET:
        if not isinstance(due_at, datetime):
            errors["due_at"] = [_("Give a due date and time.")]
        elif due_at.tzinfo is None:
            errors["due_at"] = [_("Give the due time with its time zone.")]
    if notes is not UNSET and len(str(notes or "")) > MAX_NOTES:
        errors["notes"] = [_("At most %(n)s characters.") % {"n": MAX_NOTES}]
    if remind_minutes_before is not UNSET and (
        not isinstance(remind_minutes_before, int)
        or isinstance(remind_minutes_before, bool)
        or not 0 <= remind_minutes_before <= MAX_REMIND_MINUTES
    ):
        errors["remind_minutes_before"] = [_("Give 0 (at the due time) up to 10080 minutes (a week) before.")]


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise exceptions.InvalidTask(_("Some fields are not valid."), fields=errors)


def _check_assignee(actor: User, assignee_id: int, errors: dict[str, list[str]]) -> None:
    if assignee_id == actor.pk:
        return
    if not any(u.pk == assignee_id for u in selectors.assignees_visible_to(actor)):
        errors["assignee_id"] = [_("Assign the task to yourself or someone in your teams.")]


def _visible_lead(actor: User, lead_id: int) -> Lead:
    lead = leads_selectors.get_lead_visible_to(actor, lead_id)
    if lead is None:
        raise exceptions.LeadNotFound(_("Lead not found."))
    return lead


def _locked_task(actor: User, task_id: int) -> Task:
    visible = selectors.tasks_visible_to(actor).filter(pk=task_id)
    task = Task.objects.select_for_update(of=("self",)).select_related("lead").filter(pk__in=visible).first()
    if task is None:
        raise exceptions.TaskNotFound(_("Task not found."))
    return task


# -- reminders --------------------------------------------------------------------------------------------


def _schedule_reminder(task: Task) -> None:
    if task.remind_at is not None and task.completed_at is None:
        procrastinate_app.configure_task("followups.remind", schedule_at=task.remind_at).defer(task_id=task.pk)


class _LocalTime:
    """A due time rendered when the notification is rendered (in the recipient's language and zone)."""

    def __init__(self, moment: datetime, user: User) -> None:
        self.moment, self.user = moment, user

    def __str__(self) -> str:
        local = self.moment.astimezone(selectors.time_zone_of(self.user))
        return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def send_reminder(task_id: int) -> bool:
    """Remind the assignee of an open task whose reminder time has come (once; False: nothing to do)."""
    now = clock.now()
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("lead", "assignee")
            .filter(pk=task_id, completed_at__isnull=True, reminded_at__isnull=True, remind_at__lte=now)
            .first()
        )
        if task is None:
            return False
        task.reminded_at = now
        task.save(update_fields=["reminded_at"])
        from embudo.notifications import services as notifications

        overdue = task.due_at <= now
        notifications.notify(
            user_id=task.assignee_id, kind="task_due", lead_id=task.lead_id,
            url=reverse("leads:detail", args=[task.lead_id]),
            title=(gettext_lazy("Overdue: %(title)s · %(lead)s") if overdue
                   else gettext_lazy("Due %(due)s: %(title)s · %(lead)s")),
            body=gettext_lazy("%(kind)s with %(lead)s, due %(due)s."),
            params={"title": task.title, "lead": task.lead, "kind": TaskKind(task.kind).label,
                    "due": _LocalTime(task.due_at, task.assignee)},
        )  # fmt: skip
        return True


def sweep_reminders(*, limit: int = SWEEP_BATCH) -> int:
    """Send the due reminders whose job was lost (bounded per run); returns how many were sent."""
    return sum(1 for task_id in selectors.due_reminder_ids(clock.now(), limit=limit) if send_reminder(task_id))


# -- tasks ------------------------------------------------------------------------------------------------


def _publish_created(task: Task, *, actor_id: int | None, assignee_name: str) -> None:
    events.publish(
        TaskCreated(lead_id=task.lead_id, actor_id=actor_id, task_id=task.pk, kind=task.kind, title=task.title,
                    due_at=task.due_at.isoformat(), assignee_id=task.assignee_id, assignee_name=assignee_name,
                    rule_id=task.rule_id),
        occurred_at=task.created_at,
    )  # fmt: skip


def create_task(
    *,
    actor: User,
    lead_id: int,
    kind: str,
    title: str,
    due_at: datetime,
    assignee_id: int | None = None,
    notes: str = "",
    remind_minutes_before: int = 0,
) -> Task:
    """Create a follow-up task on a lead the actor sees, for ``assignee_id`` (default: the lead's owner, else
    the actor), reminded ``remind_minutes_before`` its due time (if that is still ahead). Publishes
    ``followups.TaskCreated``."""
    errors: dict[str, list[str]] = {}
    _clean(kind=kind, title=title, due_at=due_at, notes=notes, remind_minutes_before=remind_minutes_before,
           errors=errors)  # fmt: skip
    lead = _visible_lead(actor, lead_id)
    assignee = assignee_id if assignee_id is not None else (lead.owner_id or actor.pk)
    if assignee_id is not None:
        _check_assignee(actor, assignee_id, errors)
    _raise(errors)
    now = clock.now()
    with transaction.atomic():
        task = Task.objects.create(
            lead_id=lead.pk, assignee_id=assignee, created_by=actor, kind=kind, title=title.strip(),
            notes=(notes or "").strip(), due_at=due_at,
            remind_at=domain.remind_at_for(due_at, now, remind_minutes_before),
            created_at=now, updated_at=now,
        )  # fmt: skip
        _schedule_reminder(task)
        name = (actor.display_name if assignee == actor.pk
                else (User.objects.filter(pk=assignee).values_list("full_name", flat=True).first() or ""))  # fmt: skip
        _publish_created(task, actor_id=actor.pk, assignee_name=name)
    return task


def update_task(
    *,
    actor: User,
    task_id: int,
    kind: Any = UNSET,
    title: Any = UNSET,
    notes: Any = UNSET,
    due_at: Any = UNSET,
    assignee_id: Any = UNSET,
    remind_minutes_before: Any = UNSET,
) -> Task:
    """Edit, reschedule or reassign a task (only the given fields). A new due time or reminder offset
    reschedules the reminder (the old job becomes a no-op); a task handed over after its reminder was sent
    reminds the new assignee now."""
    errors: dict[str, list[str]] = {}
    _clean(kind=kind, title=title, due_at=due_at, notes=notes, remind_minutes_before=remind_minutes_before,
           errors=errors)  # fmt: skip
    if assignee_id is not UNSET:
        if not isinstance(assignee_id, int) or isinstance(assignee_id, bool):
            errors["assignee_id"] = [_("Choose who does it.")]
        else:
            _check_assignee(actor, assignee_id, errors)
    now = clock.now()
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        _raise(errors)
        fields = ["updated_at"]
        if kind is not UNSET:
            task.kind = kind
            fields.append("kind")
        if title is not UNSET:
            task.title = str(title).strip()
            fields.append("title")
        if notes is not UNSET:
            task.notes = str(notes or "").strip()
            fields.append("notes")
        reassigned = assignee_id is not UNSET and assignee_id != task.assignee_id
        if reassigned:
            task.assignee_id = assignee_id
            fields.append("assignee")
        if due_at is not UNSET or remind_minutes_before is not UNSET:
            old_before = int((task.due_at - task.remind_at).total_seconds() // 60) if task.remind_at is not None else 0
            new_due = task.due_at if due_at is UNSET else due_at
            before = old_before if remind_minutes_before is UNSET else remind_minutes_before
            remind_at = domain.remind_at_for(new_due, now, max(0, before)) if task.completed_at is None else None
            if new_due != task.due_at or remind_at != task.remind_at:
                task.due_at, task.remind_at, task.reminded_at = new_due, remind_at, None
                fields += ["due_at", "remind_at", "reminded_at"]
                _schedule_reminder(task)
                reassigned = False
        if reassigned and task.completed_at is None and task.reminded_at is not None and task.due_at > now:
            # The new assignee has not been reminded: remind them now.
            task.remind_at, task.reminded_at = now, None
            fields += ["remind_at", "reminded_at"]
            _schedule_reminder(task)
        task.updated_at = now
        task.save(update_fields=fields)
    return task


def snooze_task(*, actor: User, task_id: int, option: str) -> Task:
    """Push a task to later: "1h" (an hour from now) or "tomorrow" (9:00 in the actor's time zone)."""
    if option not in domain.SNOOZES:
        raise exceptions.InvalidTask(_("Some fields are not valid."), fields={"option": [_("Unknown snooze.")]})
    due = domain.snooze(option, clock.now(), selectors.time_zone_of(actor))
    return update_task(actor=actor, task_id=task_id, due_at=due)


def complete_task(*, actor: User, task_id: int) -> Task:
    """Mark a task done (idempotent: completing a done task changes nothing). Publishes
    ``followups.TaskCompleted``; its pending reminder will not be sent."""
    now = clock.now()
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        if task.completed_at is not None:
            return task
        task.completed_at, task.completed_by, task.updated_at = now, actor, now
        task.save(update_fields=["completed_at", "completed_by", "updated_at"])
        events.publish(
            TaskCompleted(lead_id=task.lead_id, actor_id=actor.pk, task_id=task.pk, kind=task.kind, title=task.title,
                          due_at=task.due_at.isoformat(), completed_at=now.isoformat(), late=now > task.due_at),
            occurred_at=now,
        )  # fmt: skip
    return task


def reopen_task(*, actor: User, task_id: int) -> Task:
    """Undo a completion. The reminder comes back if the due time is still ahead and none was sent."""
    now = clock.now()
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        if task.completed_at is None:
            return task
        task.completed_at, task.completed_by, task.updated_at = None, None, now
        fields = ["completed_at", "completed_by", "updated_at"]
        if task.reminded_at is None and task.due_at > now:
            task.remind_at = max(task.remind_at or task.due_at, now)
            fields.append("remind_at")
            _schedule_reminder(task)
        task.save(update_fields=fields)
    return task


def delete_task(*, actor: User, task_id: int) -> None:
    """Delete a task (its reminder job finds nothing). The timeline keeps its TaskCreated entry."""
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        task.delete()


# -- rules ------------------------------------------------------------------------------------------------


def _require_rule_manager(actor: User) -> None:
    if not selectors.can_manage_rules(actor):
        raise exceptions.NotAllowed(_("Only managers and admins edit task rules."))


def validate_rule(data: dict[str, Any], *, actor: User) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    stage_key = str(data.get("stage_key") or "").strip()
    if not stage_key:
        errors["stage_key"] = [_("Choose the stage that starts the task.")]
    elif len(stage_key) > 60:
        errors["stage_key"] = [_("At most %(n)s characters.") % {"n": 60}]
    kind = data.get("kind") or TaskKind.CALL
    title = str(data.get("title") or "").strip()
    _clean(kind=kind, title=title, due_at=UNSET, notes=UNSET, remind_minutes_before=UNSET, errors=errors)
    days, hours = data.get("delay_days") or 0, data.get("delay_hours") or 0
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        errors["delay_days"] = [_("Give 0 to 365 days.")]
    if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= 23 * 24:
        errors["delay_hours"] = [_("Give 0 to 552 hours.")]
    team_id = data.get("team_id")
    if team_id is not None:
        if not accounts_selectors.team_exists(team_id):
            errors["team_id"] = [_("Unknown team.")]
        elif actor.role != "admin" and team_id not in accounts_selectors.team_ids_of(actor):
            errors["team_id"] = [_("Choose one of your teams.")]
    elif actor.role != "admin":
        errors["team_id"] = [_("Choose one of your teams (only admins make rules for every team).")]
    if errors:
        raise exceptions.InvalidRule(_("Some fields are not valid."), fields=errors)
    return {"stage_key": stage_key, "kind": kind, "title": title, "delay_days": days, "delay_hours": hours,
            "team_id": team_id, "active": bool(data.get("active", True))}  # fmt: skip


def save_rule(*, actor: User, data: dict[str, Any], rule_id: int | None = None) -> TaskRule:
    """Create or update a task rule (managers: theirs and every-team rules; admins: all)."""
    _require_rule_manager(actor)
    clean = validate_rule(data, actor=actor)
    now = clock.now()
    with transaction.atomic():
        if rule_id is None:
            return TaskRule.objects.create(**clean, created_at=now, updated_at=now)
        rule = _rule_of(actor, rule_id)
        for name, value in clean.items():
            setattr(rule, name, value)
        rule.updated_at = now
        rule.save()
        return rule


def _rule_of(actor: User, rule_id: int) -> TaskRule:
    rule = next((r for r in selectors.list_rules_visible_to(actor) if r.pk == rule_id), None)
    if rule is not None and rule.team_id is None and actor.role != "admin":
        raise exceptions.NotAllowed(_("Only admins edit the rules of every team."))
    if rule is None:
        raise exceptions.RuleNotFound(_("Task rule not found."))
    return rule


def set_rule_active(*, actor: User, rule_id: int, active: bool) -> TaskRule:
    """Deactivate (or reactivate) a rule; the tasks it created stay."""
    _require_rule_manager(actor)
    rule = _rule_of(actor, rule_id)
    rule.active, rule.updated_at = active, clock.now()
    rule.save(update_fields=["active", "updated_at"])
    return rule


@dataclass(frozen=True)
class StageEntry:
    event_id: int
    lead_id: int
    stage_key: str
    team_id: int | None
    actor_id: int | None
    entered_at: datetime


def create_tasks_for_stage_entry(entry: StageEntry) -> list[Task]:
    """The tasks of the active rules for the stage a deal entered (once per rule and stage entry), for the
    lead's owner (else whoever moved the deal), due the rule's delay after the entry, in the assignee's
    time zone (DST-safe days)."""
    rules = selectors.matching_rules(entry.stage_key, entry.team_id)
    if not rules:
        return []
    lead = leads_selectors.get_lead(entry.lead_id)
    if lead is None or lead.outcome:
        return []
    assignee_id = lead.owner_id or entry.actor_id
    if assignee_id is None:
        logger.info("No one to give the rule tasks of lead %s to (no owner, no actor)", entry.lead_id)
        return []
    assignee = lead.owner if lead.owner_id else User.objects.filter(pk=assignee_id).first()
    if assignee is None:
        return []
    tz = selectors.time_zone_of(assignee)
    now = clock.now()
    created: list[Task] = []
    for rule in rules:
        due = domain.add_delay(entry.entered_at, tz, days=rule.delay_days, hours=rule.delay_hours)
        if due < now and rule.delay_days == 0 and rule.delay_hours == 0:
            due = now
        try:
            with transaction.atomic():
                task = Task.objects.create(
                    lead_id=lead.pk, assignee_id=assignee_id, created_by=None, kind=rule.kind, title=rule.title,
                    due_at=due, remind_at=domain.remind_at_for(due, now, 0), rule=rule, rule_event_id=entry.event_id,
                    created_at=now, updated_at=now,
                )  # fmt: skip
                _schedule_reminder(task)
                _publish_created(task, actor_id=None, assignee_name=assignee.display_name)
        except IntegrityError:  # this rule already made its task for this stage entry
            continue
        created.append(task)
    return created


def on_deal_stage_changed(event_id: int) -> list[Task]:
    """React to ``pipeline.DealStageChanged``: the rules' tasks for the stage entered."""
    event = events.get_event(event_id)
    payload = event.payload or {}
    lead_id = event.lead_id or payload.get("lead_id")
    stage_key = payload.get("stage_key")
    if not lead_id or not stage_key:
        return []
    team_id = payload.get("team_id")
    return create_tasks_for_stage_entry(
        StageEntry(event_id=event.pk, lead_id=int(lead_id), stage_key=str(stage_key),
                   team_id=int(team_id) if team_id else None, actor_id=event.actor_id or payload.get("actor_id"),
                   entered_at=event.occurred_at)
    )  # fmt: skip


def quick_due(pick: str, *, actor: User) -> datetime:
    """The due time of a quick pick for ``actor`` (see domain.quick_pick)."""
    return domain.quick_pick(pick, clock.now(), selectors.time_zone_of(actor))


def past_due_warning(due_at: datetime) -> str:
    """A warning (not an error) for a task logged with a due time already passed."""
    return _("The due time has passed: the task is saved, with no reminder.") if due_at <= clock.now() else ""
