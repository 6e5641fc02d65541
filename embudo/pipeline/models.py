"""Models of the pipeline context: the stages of a sales pipeline and one deal per lead."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    """A column of the board. ``team`` NULL: the default pipeline every team uses unless it has its own."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="pipeline_stages"
    )
    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "key"], name="pipeline_stage_team_key_uniq"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(team__isnull=True), name="pipeline_stage_default_key_uniq"
            ),
            models.CheckConstraint(condition=Q(probability__lte=100), name="pipeline_stage_probability_range"),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    """The sales opportunity of one lead. ``owner_id``/``team_id`` copy the lead's, for the board's indexes."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="deal")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR", db_default="EUR")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True, default="", db_default="")
    stage_entered_at = models.DateTimeField(_("in stage since"))
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The lead's grade, copied for the grade-filtered board (no join to leads): set when the deal is created
    # or handed over, kept in sync from scoring's GradeChanged events by ``pipeline.sync_grades``.
    grade = models.CharField(_("grade"), max_length=10, default="cold", db_default="cold")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="pipeline_deal_amount_positive"),
        ]
        indexes = [
            # The board: a rep's column (owner, stage) newest first, LIMIT 50; counts and totals per
            # column as index-only scans (amount is carried in the index).
            models.Index(fields=["owner", "stage", "-updated_at"], include=["amount"], name="deal_owner_stage_idx"),
            # A manager's board: their teams' columns.
            models.Index(fields=["team", "stage", "-updated_at"], include=["amount"], name="deal_team_stage_idx"),
            # Deleting/deactivating a stage checks whether it holds deals; admins' whole-company board.
            models.Index(fields=["stage", "-updated_at"], include=["amount"], name="deal_stage_idx"),
            # The grade-filtered board (?grade=hot|warm|cold): counts/totals per column as index-only scans of
            # the (scope, grade) prefix, each column's newest cards as a LIMIT on (scope, grade, stage).
            models.Index(
                fields=["owner", "grade", "stage", "-updated_at"], include=["amount"], name="deal_owner_grade_idx"
            ),
            models.Index(
                fields=["team", "grade", "stage", "-updated_at"], include=["amount"], name="deal_team_grade_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Deal of lead #{self.lead_id}"


class StageTotal(models.Model):
    """How many deals, worth how much, each (stage, owner, team) holds: the board's column counts and totals
    without scanning the deals (kept by the services in the same transaction; ``rebuild_totals`` recomputes)."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    deals = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "owner", "team"], nulls_distinct=False, name="pipeline_stagetotal_uniq"
            ),
        ]
        indexes = [models.Index(fields=["owner", "stage"], name="stagetotal_owner_idx")]

    def __str__(self) -> str:
        return f"{self.deals} deals in stage #{self.stage_id}"


class GradeSync(models.Model):
    """Checkpoint of ``pipeline.sync_grades``: the last ``scoring.GradeChanged`` event applied to the deals."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Late commits: each run re-reads the ids after ``recheck_from_id`` (the checkpoint of 10-20 minutes ago);
    # ``recent_event_id`` is the newer generation, promoted every 10 minutes (``rotated_at``).
    recheck_from_id = models.BigIntegerField(default=0)
    recent_event_id = models.BigIntegerField(default=0)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_event_id}"
