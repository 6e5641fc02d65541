"""Follow-up tasks (by hand or by rules) and the rules that create them when a deal enters a stage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    WHATSAPP = "whatsapp", _("WhatsApp")
    FOLLOW_UP = "follow_up", _("Follow-up")
    OTHER = "other", _("Other")


class TaskRule(models.Model):
    """ "Call 3 days after the proposal": when a deal enters ``stage_key`` (a pipeline stage key), a task
    of ``kind`` is created for the lead's owner, due ``delay_days`` days (same local time) and
    ``delay_hours`` hours later. For every team when ``team`` is empty."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    stage_key = models.CharField(_("when a deal enters stage"), max_length=60)
    kind = models.CharField(_("type"), max_length=12, choices=TaskKind.choices, default=TaskKind.CALL)
    title = models.CharField(_("title"), max_length=200)
    delay_days = models.PositiveIntegerField(_("after (days)"), default=0)
    delay_hours = models.PositiveIntegerField(_("after (hours)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["stage_key", "delay_days", "delay_hours", "id"]
        indexes = [models.Index(fields=["stage_key"], condition=Q(active=True), name="followups_rule_active_idx")]

    def __str__(self) -> str:
        return self.title


class Task(models.Model):
    """Something a person must do about a lead by ``due_at``. Open while ``completed_at`` is empty.

    ``remind_at`` is when the assignee is reminded (None: no reminder, e.g. a task logged after the fact);
    ``reminded_at`` records that it was sent. ``rule``/``rule_event_id`` name the rule and the stage entry
    (the ``pipeline.DealStageChanged`` event) that created it: one task per rule and stage entry.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+", verbose_name=_("lead"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("assigned to"),
        db_index=False,  # covered by followups_open_assignee_idx / _done_assignee_idx
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )  # fmt: skip
    kind = models.CharField(_("type"), max_length=12, choices=TaskKind.choices, default=TaskKind.CALL)
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, default="")
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("completed by"),
    )  # fmt: skip
    rule = models.ForeignKey(
        TaskRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks", verbose_name=_("rule")
    )
    rule_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "rule_event_id"], condition=Q(rule__isnull=False), name="followups_task_rule_entry_uniq"
            ),
        ]
        indexes = [
            # "My day" and the inbox's per-rep counts: open tasks of an assignee by due time.
            models.Index(
                fields=["assignee", "due_at"], condition=Q(completed_at__isnull=True),
                name="followups_open_assignee_idx",
            ),
            # "Done today" on my day.
            models.Index(
                fields=["assignee", "completed_at"], condition=Q(completed_at__isnull=False),
                name="followups_done_assignee_idx",
            ),
            # The lead's next open task (inbox) and the lead page's open tasks.
            models.Index(
                fields=["lead", "due_at"], condition=Q(completed_at__isnull=True), name="followups_open_lead_idx"
            ),
            # The reminder sweeper: reminders due and not sent.
            models.Index(
                fields=["remind_at"], condition=Q(completed_at__isnull=True, reminded_at__isnull=True,
                                                  remind_at__isnull=False),
                name="followups_remind_idx",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.completed_at is None
