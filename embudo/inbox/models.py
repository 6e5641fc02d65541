"""Models of the inbox context: a rep's snoozed leads and saved views."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Snooze(models.Model):
    """``user`` hid ``lead`` from their inbox until ``until`` (one per user and lead)."""

    # db_index=False: the (user, lead) unique index serves lookups by user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+", db_index=False)
    until = models.DateTimeField(_("until"))
    created_at = models.DateTimeField(_("created"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lead"], name="inbox_snooze_user_lead_uniq")]
        indexes = [
            # The inbox's anti-join: (user, lead) probes answered from the unique index; the lead side
            # for deletes cascading from a lead.
            models.Index(fields=["lead"], name="inbox_snooze_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} snoozed by {self.user_id} until {self.until:%Y-%m-%d %H:%M}"


class SavedView(models.Model):
    """A named set of inbox filters (the query string), shown as a tab."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="inbox_savedview_user_name_uniq")]

    def __str__(self) -> str:
        return self.name
