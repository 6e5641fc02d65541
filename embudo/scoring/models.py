"""Scoring models: versioned rule sets, the append-only score ledger and its per-rule materialisation.

Invariant (tested by a state machine): ``lead.score == sum(ScoreEntry.points) == sum(ScoreContribution.points)``
for every lead.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class RuleKind(models.TextChoices):
    FIT = "fit", _("Fit")
    ENGAGEMENT = "engagement", _("Engagement")


class Decay(models.TextChoices):
    NONE = "none", _("No decay")
    LINEAR = "linear", _("Linear")
    HALF_LIFE = "half_life", _("Half-life")


class ScoringVersion(models.Model):
    """A scoring model: rules plus grade thresholds. Drafts are edited; one version is published per scope."""

    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="scoring_versions",
        verbose_name=_("team"),
        help_text=_("Empty: the global model, used for leads whose team has no published model."),
    )
    number = models.PositiveIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=120, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    warm_min = models.IntegerField(_("warm from"), default=51)
    hot_min = models.IntegerField(_("hot from"), default=81)
    mql_threshold = models.IntegerField(_("MQL threshold"), default=81)
    inactivity_days = models.PositiveIntegerField(_("inactive after (days)"), default=0)
    inactivity_points = models.IntegerField(_("points when inactive"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Background rescore after publishing (progress bar).
    rescore_total = models.BigIntegerField(default=0)
    rescore_done = models.BigIntegerField(default=0)
    rescore_started_at = models.DateTimeField(null=True, blank=True)
    rescore_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(status="published"), name="scoring_one_published_per_team"
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published", team__isnull=True),
                name="scoring_one_published_global",
            ),
            models.CheckConstraint(condition=Q(warm_min__lte=models.F("hot_min")), name="scoring_warm_below_hot"),
        ]
        indexes = [models.Index(fields=["team", "-number"], name="scoring_version_team_idx")]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}".strip()


class ScoringRule(models.Model):
    version = models.ForeignKey(ScoringVersion, on_delete=models.CASCADE, related_name="rules")
    # Stable across versions: copying a version keeps keys; unchanged rules keep their contributions.
    key = models.UUIDField(default=uuid.uuid4)
    kind = models.CharField(_("kind"), max_length=12, choices=RuleKind.choices)
    label = models.CharField(_("label"), max_length=200)
    points = models.IntegerField(_("points"))
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    # Engagement rules only.
    event_type = models.CharField(_("event type"), max_length=60, blank=True, default="")
    repeatable = models.BooleanField(_("repeatable"), default=False)
    max_points = models.IntegerField(_("cap"), null=True, blank=True)
    window_days = models.PositiveIntegerField(_("window (days)"), null=True, blank=True)
    decay = models.CharField(_("decay"), max_length=12, choices=Decay.choices, default=Decay.NONE)
    decay_days = models.PositiveIntegerField(_("decay (days)"), null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="scoring_rule_key_uniq")]

    def __str__(self) -> str:
        return f"{self.label} ({self.points:+d})"


class ScoreEntry(models.Model):
    """The append-only ledger: every change of a lead's score, with its rule, version, cause and reason."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.BigIntegerField()
    version = models.ForeignKey(
        ScoringVersion, on_delete=models.PROTECT, null=True, related_name="+", db_index=False, db_constraint=False
    )
    rule_key = models.UUIDField(null=True, blank=True)
    points = models.IntegerField()
    cause = models.CharField(max_length=80)
    reason = models.CharField(max_length=300, blank=True, default="")
    event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["lead_id", "-created_at", "-id"], name="score_entry_lead_idx")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} {self.points:+d} ({self.cause})"


class ScoreContribution(models.Model):
    """The ledger summed per (lead, rule): what each rule contributes to a lead's score now."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.BigIntegerField()
    rule_key = models.UUIDField()
    points = models.IntegerField()
    version = models.ForeignKey(
        ScoringVersion, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead_id", "rule_key"], name="score_contribution_uniq")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} rule {self.rule_key}: {self.points:+d}"


class BacktestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Backtest(models.Model):
    """A draft replayed over the stored leads and events, compared with the published model."""

    version = models.ForeignKey(ScoringVersion, on_delete=models.CASCADE, related_name="backtests")
    status = models.CharField(max_length=10, choices=BacktestStatus.choices, default=BacktestStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["version", "-created_at"], name="scoring_backtest_version_idx")]

    def __str__(self) -> str:
        return f"backtest {self.pk} of {self.version_id}"
