"""Duplicate candidates waiting for review, the merges done (reversible), and the scan's progress.

Lead ids are plain bigint columns, not foreign keys: a merge deletes the merged lead's row (after a
full snapshot) and an un-merge re-inserts it with the same id, so these rows must outlive both.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Dismissed")


class DuplicateCandidate(models.Model):
    """Two leads that may be one person (``lead_a_id < lead_b_id``), with the matcher's score and reasons."""

    lead_a_id = models.BigIntegerField()
    lead_b_id = models.BigIntegerField()
    score = models.FloatField(_("score"))
    # [{"field": str, "similarity": float, "weight": float}, …] from the matcher.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CandidateStatus.choices,
                              default=CandidateStatus.OPEN)  # fmt: skip
    created_at = models.DateTimeField(_("created"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead_a_id", "lead_b_id"], name="dupcand_pair_uniq"),
            models.CheckConstraint(condition=Q(lead_a_id__lt=F("lead_b_id")), name="dupcand_pair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "-id"], name="dupcand_queue_idx"),
            models.Index(fields=["lead_b_id"], name="dupcand_lead_b_idx"),
        ]

    def __str__(self) -> str:
        return f"leads {self.lead_a_id} ~ {self.lead_b_id} ({self.score:.2f})"


class Merge(models.Model):
    """One merge and everything needed to undo it exactly.

    ``merged_snapshot``/``survivor_snapshot``: every column of both lead rows before the merge.
    ``moved``: ``{table: [row ids]}`` re-pointed from the merged lead to the survivor.
    ``one_to_one``: ``{table: {"merged": row|None, "survivor": row|None}}`` for tables keyed by lead id.
    """

    survivor_id = models.BigIntegerField()
    merged_id = models.BigIntegerField()
    candidate = models.ForeignKey(DuplicateCandidate, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="merges")  # fmt: skip
    fields = models.JSONField(default=dict, blank=True)  # field -> "survivor" | "merged"
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after] on the survivor
    merged_snapshot = models.JSONField(default=dict)
    survivor_snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=dict, blank=True)
    one_to_one = models.JSONField(default=dict, blank=True)
    automatic = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")  # fmt: skip
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")  # fmt: skip

    class Meta:
        indexes = [
            models.Index(fields=["survivor_id", "-created_at"], name="merge_survivor_idx"),
            models.Index(fields=["merged_id"], name="merge_merged_idx"),
        ]

    def __str__(self) -> str:
        return f"merge {self.merged_id} → {self.survivor_id}"


class ScanState(models.Model):
    """Progress of the incremental background scan (one row per scan name)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_lead_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_lead_id}"


class LeadKey(models.Model):
    """One blocking key of a lead (``dedupe.domain.blocking.blocking_keys``), as a stable signed 64-bit hash.

    Kept in sync by the services that write leads (``dedupe.services.index_lead``/``reindex_lead``), moved
    on merge and restored on un-merge; ``build_key_index`` fills it for leads written in bulk. Candidate
    retrieval is then an index-only lookup of a dozen keys instead of trigram searches.
    """

    pk = models.CompositePrimaryKey("key", "lead_id")
    key = models.BigIntegerField()
    lead_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["lead_id"], name="leadkey_lead_idx")]

    def __str__(self) -> str:
        return f"{self.key} → lead {self.lead_id}"
