from django.db import models


class DomainEvent(models.Model):
    """Append-only record of something that happened. It is the lead timeline and analytics' input.

    ``lead_id`` and ``actor_id`` are plain columns, not foreign keys: events outlive merges and
    deletions, the table is write-heavy, and core must not depend on other contexts.
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=80)
    occurred_at = models.DateTimeField()
    lead_id = models.BigIntegerField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["lead_id", "-occurred_at", "-id"], name="event_lead_time_idx"),
            # Timeline events by type and time; not behaviour events (``activity.*``: most rows, written by the
            # thousand by tracking, and read by lead, never by type and time): one index write less each.
            models.Index(
                fields=["type", "-occurred_at"],
                name="event_type_time_idx",
                condition=~models.Q(type__startswith="activity."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
