from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import Team, User
from embudo.notifications import domain


class NotificationKind(models.TextChoices):
    LEAD_ASSIGNED = domain.LEAD_ASSIGNED, _("A lead is assigned to me")
    LEAD_REASSIGNED = domain.LEAD_REASSIGNED, _("A lead of mine is reassigned")
    LEAD_HOT = domain.LEAD_HOT, _("A lead of mine turns hot")
    SLA_REMINDER = domain.SLA_REMINDER, _("An SLA deadline is near")
    SLA_BREACHED = domain.SLA_BREACHED, _("An SLA is breached")
    ROUTING_ALERT = domain.ROUTING_ALERT, _("Routing found nobody eligible")
    TASK_DUE = domain.TASK_DUE, _("A follow-up task is due")


class Notification(models.Model):
    """One in-app message for one user. ``lead_id`` is a plain id: a merged-away lead keeps its history."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=domain.MAX_TITLE)
    body = models.TextField(_("body"), blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    url = models.CharField(_("link"), max_length=domain.MAX_URL, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The bell's COUNT and the unread page: an index-only scan over this user's unread rows.
            models.Index(
                "user",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="notif_user_unread_idx",
                condition=Q(read_at__isnull=True),
            ),  # fmt: skip
            models.Index("user", models.F("created_at").desc(), models.F("id").desc(), name="notif_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A user's choice for one kind; without a row the defaults apply (``domain.default_channels``)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(_("kind"), max_length=40)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by email"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notif_pref_user_kind_uniq")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}"


class TeamWebhook(models.Model):
    """An outbound webhook of a team (Slack, Teams or any HTTPS endpoint), signed with ``secret``."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("team"))
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=domain.MAX_URL)
    active = models.BooleanField(_("active"), default=True)
    kinds = ArrayField(models.CharField(max_length=40), blank=True, default=list, verbose_name=_("kinds"))
    secret = models.CharField(_("signing secret"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["team__name", "name"]
        indexes = [models.Index(fields=["team"], name="notif_webhook_team_active_idx", condition=Q(active=True))]

    def __str__(self) -> str:
        return self.name
