"""Routing: rule sets (versioned like scoring), pools of reps, schedules, out-of-office periods,
explained assignments and the speed-to-lead marks of every lead.

Reads go through ``routing.selectors``, writes through ``routing.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class ActionKind(models.TextChoices):
    ASSIGN_USER = "assign_user", _("Assign to a user")
    ASSIGN_POOL = "assign_pool", _("Assign through a pool")
    ACCOUNT_OWNER = "account_owner", _("Owner of the same company (account-based)")
    QUEUE = "queue", _("Leave unassigned in the team queue")


class PoolStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin")
    WEIGHTED = "weighted", _("Weighted round-robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class Fallback(models.TextChoices):
    QUEUE = "queue", _("Leave unassigned in the team queue")
    MANAGER = "manager", _("Assign to a manager")


class AssignmentKind(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    MANUAL = "manual", _("Manual")
    ESCALATION = "escalation", _("Escalation")


class AssignmentOutcome(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    FALLBACK_MANAGER = "fallback_manager", _("Nobody eligible: assigned to the fallback manager")
    QUEUED = "queued", _("Left in the team queue")


class Pool(models.Model):
    """Reps who share leads, with a strategy, requirements and a fallback when nobody is eligible."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="routing_pools",
        verbose_name=_("team"),
        help_text=_("The team set on the leads this pool assigns (its managers get the alerts)."),
    )
    strategy = models.CharField(
        _("strategy"), max_length=16, choices=PoolStrategy.choices, default=PoolStrategy.ROUND_ROBIN
    )
    required_skills = models.JSONField(_("required skills"), default=list, blank=True)
    match_language = models.BooleanField(
        _("rep must speak the lead's language"),
        default=False,
        help_text=_("When the lead's language is known, only reps who list it are eligible."),
    )
    fallback = models.CharField(_("when nobody is eligible"), max_length=10, choices=Fallback.choices,
                                default=Fallback.QUEUE)  # fmt: skip
    fallback_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fallback manager"),
    )
    active = models.BooleanField(_("active"), default=True)
    # Fair-share state: {member_id: deficit (earned − received)}. Written under this row's lock.
    rr_state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolMember(models.Model):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pool_memberships", verbose_name=_("rep")
    )
    weight = models.PositiveIntegerField(_("weight"), default=1)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity (max open leads)"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    active = models.BooleanField(_("active"), default=True)
    assigned_count = models.BigIntegerField(default=0)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pool", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "user"], name="routing_member_uniq"),
            models.CheckConstraint(condition=Q(weight__gte=1) & Q(weight__lte=1000), name="routing_member_weight"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.pool}"


class RepSchedule(models.Model):
    """Working hours of a rep: ``hours`` is ``{"mon": [["09:00", "18:00"]], …}`` in ``time_zone``.

    A rep without a schedule is always on shift.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="rep_schedule"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    hours = models.JSONField(_("working hours"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    def __str__(self) -> str:
        return f"schedule of {self.user}"


class OutOfOffice(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="out_of_office", verbose_name=_("rep")
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-start"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="routing_ooo_range")]
        indexes = [models.Index(fields=["user", "end"], name="routing_ooo_user_end_idx")]

    def __str__(self) -> str:
        return f"{self.user} away {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"


class RuleSet(models.Model):
    """Ordered routing rules, first match wins, with a default action. Drafts are edited; one version is
    published per scope (a team, or global when ``team`` is empty)."""

    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="routing_rule_sets",
        verbose_name=_("team"),
        help_text=_("Empty: the global rule set, used for leads whose team has no published rule set."),
    )
    number = models.PositiveIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=120, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT)
    default_action = models.CharField(
        _("default action"), max_length=16, choices=ActionKind.choices, default=ActionKind.QUEUE
    )
    default_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default user"),
    )
    default_pool = models.ForeignKey(
        Pool, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("default pool")
    )
    default_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default team"),
    )
    copied_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(status="published"), name="routing_one_published_per_team"
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published", team__isnull=True),
                name="routing_one_published_global",
            ),
        ]
        indexes = [models.Index(fields=["team", "-number"], name="routing_ruleset_team_idx")]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}".strip()


class RoutingRule(models.Model):
    """``conditions`` use ``core.domain.conditions`` over ``leads.condition_fields`` (+ ``form``, ``product``).

    Actions: ``assign_user`` (``user``), ``assign_pool`` (``pool``), ``account_owner`` (the owner of another
    lead of the same company; ``pool`` is the fallback), ``queue``. ``team`` optionally sets the lead's team.
    """

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=ActionKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    pool = models.ForeignKey(
        Pool, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("pool")
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set team"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """One routing decision, explained: rule, pool, every candidate considered and why it was skipped."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    previous_owner_id = models.BigIntegerField(null=True, blank=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    pool = models.ForeignKey(Pool, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_name = models.CharField(max_length=200, blank=True)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_set_number = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=12, choices=AssignmentKind.choices, default=AssignmentKind.AUTOMATIC)
    outcome = models.CharField(max_length=20, choices=AssignmentOutcome.choices, default=AssignmentOutcome.ASSIGNED)
    trigger = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    # [{"user_id", "name", "member_id", "weight", "open_leads", "capacity", "status": "chosen"|"eligible"|<skip>}]
    candidates = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["lead_id", "-created_at", "-id"], name="routing_assignment_lead_idx")]

    def __str__(self) -> str:
        return f"assignment of lead {self.lead_id} to {self.user_id}"


class SpeedToLead(models.Model):
    """When a lead was received, stored, scored, assigned, its owner notified and first touched.

    First value wins (``services.mark_speed``); the SLA dashboard aggregates it per team/source/rep.
    """

    lead_id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True, default="")
    owner_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["received_at"], name="routing_speed_received_idx"),
            models.Index(fields=["team_id", "received_at"], name="routing_speed_team_idx"),
        ]

    def __str__(self) -> str:
        return f"speed to lead {self.lead_id}"
