"""Models of the interactions context: what a rep did with a lead (call, meeting, email, WhatsApp)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    WHATSAPP = "whatsapp", _("WhatsApp")


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class MeetingOutcome(models.TextChoices):
    HELD = "held", _("Held")
    NO_SHOW = "no_show", _("No-show")
    RESCHEDULED = "rescheduled", _("Rescheduled")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("Not sent by Embudo")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


OUTCOME_LABELS = {**dict(CallOutcome.choices), **dict(MeetingOutcome.choices)}


class Interaction(models.Model):
    """One logged touch. Emails sent through Embudo carry their delivery state (queued → sending → sent/failed)."""

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="interactions", verbose_name=_("lead"), db_index=False
    )  # covered by interaction_lead_occurred_idx
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("logged by"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True, default="")
    duration_seconds = models.PositiveIntegerField(_("duration"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("notes"), blank=True, default="")
    occurred_at = models.DateTimeField(_("when"))
    created_at = models.DateTimeField(_("logged"))
    # Email and WhatsApp: the address or E.164 phone the message went to.
    to_address = models.CharField(_("to"), max_length=254, blank=True, default="")
    message_id = models.CharField(_("message id"), max_length=255, blank=True, default="")
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True, default="")
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, blank=True, default=""
    )
    delivery_error = models.CharField(_("delivery error"), max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # When a worker took the email to send it (status "sending"); a worker that died mid-send leaves it here.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The lead page panel and GET /leads/{id}/interactions: newest first, keyset by (occurred_at, id).
            models.Index(fields=["lead", "-occurred_at", "-id"], name="interaction_lead_occurred_idx"),
            # Emails still waiting for (or stuck in) the worker: a handful of rows, found without a scan.
            models.Index(
                fields=["claimed_at"],
                condition=Q(delivery_status__in=["queued", "sending"]),
                name="interaction_undelivered_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["call", "meeting", "email", "whatsapp"]), name="interaction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["outbound", "inbound"]), name="interaction_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__lte=8 * 3600),
                name="interaction_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(delivery_status__in=["", "queued", "sending", "sent", "failed"])
                & (Q(delivery_status="") | Q(kind="email")),
                name="interaction_delivery_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.lead_id} · {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS.get(self.outcome, self.outcome))
