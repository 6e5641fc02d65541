"""Service levels: policies (what must happen by when), holidays and the clocks that time each lead."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to a rep")
    HOT = "hot", _("Became hot")
    MQL = "mql", _("Became an MQL")
    SQL = "sql", _("Became an SQL")


class SlaPolicy(models.Model):
    """ "Contact a hot lead within 10 minutes": when ``trigger`` fires on a lead that matches
    ``conditions`` (core.domain.conditions over leads.condition_fields), a clock of ``target_minutes``
    starts for the lead's owner, in their business hours when ``business_hours``."""

    name = models.CharField(_("name"), max_length=120)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("starts when"), max_length=12, choices=Trigger.choices, default=Trigger.ASSIGNED)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    target_minutes = models.PositiveIntegerField(_("target (minutes)"))
    business_hours = models.BooleanField(_("count business hours only"), default=True)
    remind_before_minutes = models.PositiveIntegerField(_("remind before (minutes)"), default=0)
    escalate = models.BooleanField(_("on breach: notify the team's managers"), default=True)
    reassign = models.BooleanField(_("on breach: reassign to the next eligible rep"), default=False)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(target_minutes__gt=0), name="sla_policy_target_positive"),
            models.CheckConstraint(
                condition=Q(remind_before_minutes__lt=models.F("target_minutes")), name="sla_policy_remind_in_target"
            ),
        ]
        indexes = [models.Index(fields=["trigger"], condition=Q(active=True), name="sla_policy_active_idx")]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A closed day: for every team when ``team`` is empty."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="sla_holiday_team_date_uniq"),
            models.UniqueConstraint(fields=["date"], condition=Q(team__isnull=True), name="sla_holiday_all_date_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class ClockStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")


class SlaClock(models.Model):
    """One policy timing one lead for one owner. At most one open clock per (lead, policy)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="clocks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, related_name="+")
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=ClockStatus.choices, default=ClockStatus.OPEN)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "policy"], condition=Q(status="open"), name="sla_clock_one_open_per_policy"
            ),
        ]
        indexes = [
            # The sweeper and "breaching soon": open clocks by deadline.
            models.Index(fields=["due_at"], condition=Q(status="open"), name="sla_clock_open_due_idx"),
            # The sweeper's missed reminders.
            models.Index(
                fields=["remind_at"],
                condition=Q(status="open", reminded_at__isnull=True),
                name="sla_clock_open_remind_idx",
            ),
            # A touch closes the open clocks of one lead.
            models.Index(fields=["lead"], condition=Q(status="open"), name="sla_clock_open_lead_idx"),
            # Compliance per policy over a period.
            models.Index(fields=["policy", "started_at"], name="sla_clock_policy_started_idx"),
            # Inbox and team view: recent breaches nobody has answered yet.
            models.Index(
                fields=["breached_at"],
                condition=Q(status="breached", met_at__isnull=True),
                name="sla_clock_breached_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA {self.policy_id} on lead {self.lead_id} ({self.status})"
