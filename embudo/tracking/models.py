"""Behaviour tracking: websites that may send events, the visitor → lead map, idempotency keys and
the collect endpoint's rate-limit buckets. The events themselves are ``core.DomainEvent`` rows of type
``activity.<event type>`` (they are the lead timeline)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

PUBLIC_KEY_PREFIX = "ets_"


def new_public_key() -> str:
    return PUBLIC_KEY_PREFIX + secrets.token_urlsafe(18)


class TrackingSite(models.Model):
    """A customer website allowed to send snippet events. Its key is public (it is in the page source):
    the allowed origins, the rate limit and the size limits are what protect the endpoint."""

    name = models.CharField(_("name"), max_length=120)
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    allowed_origins = models.TextField(
        _("allowed origins"), help_text=_("One per line, e.g. https://www.example.com or https://*.example.com.")
    )
    active = models.BooleanField(_("active"), default=True)
    max_requests_per_minute = models.PositiveIntegerField(_("requests per minute and visitor IP"), default=120)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        return [o.strip().lower().rstrip("/") for o in (self.allowed_origins or "").splitlines() if o.strip()]


class Visitor(models.Model):
    """An anonymous visitor id that identified as a lead: later events of the id go straight to the lead.

    ``lead_id`` is a plain column like ``DomainEvent.lead_id`` (no foreign key): reads join ``leads_lead``
    so a mapping to a deleted or merged-away lead is ignored.
    """

    visitor_id = models.CharField(max_length=64, primary_key=True)
    lead_id = models.BigIntegerField()
    site = models.ForeignKey(TrackingSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    identified_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["lead_id"], name="tracking_visitor_lead_idx")]

    def __str__(self) -> str:
        return f"{self.visitor_id} → {self.lead_id}"


class EventKey(models.Model):
    """The client id of a stored event, unique per sender (``scope``: ``token:<id>`` or ``site:<id>``), so
    a retried batch is stored once. Inserted in bulk with ``ON CONFLICT DO NOTHING``; pruned after
    ``KEY_RETENTION_DAYS`` (a retry later than that is stored again)."""

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="tracking_eventkey_uniq")]
        indexes = [models.Index(fields=["created_at"], name="tracking_eventkey_created_idx")]

    def __str__(self) -> str:
        return f"{self.scope}/{self.key}"


class RateBucket(models.Model):
    """Requests of one IP to one site in one minute (one upsert per collect request; old rows pruned)."""

    id = models.BigAutoField(primary_key=True)
    site = models.ForeignKey(TrackingSite, on_delete=models.CASCADE, related_name="+")
    ip = models.CharField(max_length=45)
    minute = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "ip", "minute"], name="tracking_ratebucket_uniq")]
        indexes = [models.Index(fields=["minute"], name="tracking_ratebucket_min_idx")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.ip} {self.minute:%H:%M}: {self.hits}"
