"""Reads of the notifications context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.notifications import domain
from embudo.notifications.models import Notification, NotificationKind, NotificationPreference, TeamWebhook


def count_unread(user_id: int) -> int:
    """The bell: one COUNT over the partial unread index."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def list_notifications(user_id: int, *, offset: int = 0, limit: int = 50) -> list[Notification]:
    """Unread first, newest first within each group."""
    is_read = ExpressionWrapper(Q(read_at__isnull=False), output_field=BooleanField())
    rows = (
        Notification.objects.filter(user_id=user_id)
        .annotate(is_read_sort=is_read)
        .order_by("is_read_sort", "-created_at", "-id")[offset : offset + limit]
    )
    return list(rows)


def get_notification_of(user_id: int, notification_id: int) -> Notification | None:
    return Notification.objects.filter(user_id=user_id, pk=notification_id).first()


# A notification's recipient: the channels they want for its kind, and their language.
Recipient = tuple[domain.Channels, str]


def get_recipient(user_id: int, kind: str) -> Recipient:
    """The channels ``user_id`` wants for ``kind`` and their language, in one query (plain SQL: this runs
    for every routed lead, and the ORM's subquery annotations cost more to build than to run)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.language, p.in_app, p.email FROM accounts_user u"
            " LEFT JOIN notifications_notificationpreference p ON p.user_id = u.id AND p.kind = %s"
            " WHERE u.id = %s LIMIT 1",
            [kind, user_id],
        )
        row = cursor.fetchone()
    if row is None:
        return domain.channels_for(kind, None), ""
    return recipient_from_row(kind, *row)


def recipient_from_row(kind: str, language: str | None, in_app: bool | None, email: bool | None) -> Recipient:
    """What :func:`get_recipient` returns, from ``accounts_user.language`` and the user's saved preference for
    ``kind`` (``in_app``/``email`` NULL: none saved), for a caller that joined them into its own query."""
    saved = domain.Channels(in_app=bool(in_app), email=bool(email)) if in_app is not None else None
    return domain.channels_for(kind, saved), str(language or "")


def get_channels(user_id: int, kind: str) -> domain.Channels:
    saved = NotificationPreference.objects.filter(user_id=user_id, kind=kind).values_list("in_app", "email").first()
    return domain.channels_for(kind, domain.Channels(in_app=saved[0], email=saved[1]) if saved else None)


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: Any
    in_app: bool
    email: bool


def list_preferences(user_id: int) -> list[PreferenceRow]:
    saved = {
        kind: domain.Channels(in_app=in_app, email=email)
        for kind, in_app, email in NotificationPreference.objects.filter(user_id=user_id).values_list(
            "kind", "in_app", "email"
        )
    }
    rows = []
    for kind, label in NotificationKind.choices:
        channels = domain.channels_for(kind, saved.get(kind))
        rows.append(PreferenceRow(kind=kind, label=label, in_app=channels.in_app, email=channels.email))
    return rows


def can_manage_webhooks(user: User) -> bool:
    return user.role in ("admin", "manager")


def manageable_team_ids(user: User) -> list[int] | None:
    """None means every team (admins)."""
    if user.role == "admin":
        return None
    if user.role == "manager":
        return accounts_selectors.team_ids_of(user)
    return []


def list_webhooks_visible_to(user: User) -> QuerySet[TeamWebhook]:
    webhooks = TeamWebhook.objects.select_related("team").order_by("team__name", "name")
    team_ids = manageable_team_ids(user)
    return webhooks if team_ids is None else webhooks.filter(team_id__in=team_ids)


def get_webhook_visible_to(user: User, webhook_id: int) -> TeamWebhook | None:
    return list_webhooks_visible_to(user).filter(pk=webhook_id).first()


def list_active_webhooks(team_id: int, kind: str) -> list[tuple[int, str]]:
    """(id, url) of the team's active webhooks that want ``kind``."""
    rows = TeamWebhook.objects.filter(team_id=team_id, active=True).values_list("id", "url", "kinds")
    return [(pk, url) for pk, url, kinds in rows if domain.webhook_wants(kinds, kind)]
