"""Predictive scoring's tables: trained models, imported historical outcomes, stored predictions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    FAILED = "failed", _("Failed")


class PredictiveModel(models.Model):
    """One training run. At most one is ``active``: the one predictions come from.

    ``blob`` is the pickled ``domain.model.TrainedModel``. Trust boundary: pickle executes code when
    loaded, so only bytes written by ``services.train_model`` into this table are ever loaded; there is
    no way to upload a model file."""

    status = models.CharField(_("status"), max_length=10, choices=ModelStatus.choices, default=ModelStatus.ACTIVE)
    kind = models.CharField(_("kind"), max_length=60, blank=True)
    trained_at = models.DateTimeField(_("trained at"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    positives = models.PositiveIntegerField(_("won"), default=0)
    rows_live = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    log_loss = models.FloatField(_("log-loss"), null=True, blank=True)
    baseline_auc = models.FloatField(null=True, blank=True)
    baseline_log_loss = models.FloatField(null=True, blank=True)
    calibration = models.JSONField(default=list, blank=True)
    importances = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    blob = models.BinaryField(editable=False)
    trained_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="predictive_one_active"),
        ]

    def __str__(self) -> str:
        return f"Model #{self.pk} ({self.status})"


class HistoricalOutcome(models.Model):
    """A closed lead from another system (an old CRM's CSV): its features and whether it was won."""

    features = models.JSONField(default=dict)
    won = models.BooleanField()
    source_file = models.CharField(max_length=255)
    imported_at = models.DateTimeField()
    imported_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["source_file", "imported_at"], name="histoutcome_source_idx")]

    def __str__(self) -> str:
        return f"{self.source_file}: {'won' if self.won else 'lost'}"


class LeadPrediction(models.Model):
    """The latest conversion probability of an open lead (batch-scored), so lists can sort by it."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="+")
    probability = models.FloatField()
    model = models.ForeignKey(PredictiveModel, on_delete=models.CASCADE, related_name="+", db_index=False)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["-probability", "lead"], name="leadprediction_prob_idx"),
            models.Index(fields=["model"], name="leadprediction_model_idx"),
        ]

    def __str__(self) -> str:
        return f"Lead #{self.pk}: {self.probability:.0%}"
