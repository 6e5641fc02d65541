"""Notifications: in-app rows, plus email and team-webhook jobs deferred in the caller's transaction.

Interface used by other contexts (keep these signatures): :func:`notify`, :func:`notify_many` (routing's
set-based assignments).
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.events import JobToDefer, defer_jobs
from embudo.core.sqlparams import array_or_nulls
from embudo.notifications import domain, selectors
from embudo.notifications.exceptions import (
    InvalidPreference,
    InvalidWebhook,
    NotAllowed,
    NotificationNotFound,
    WebhookDeliveryFailed,
    WebhookNotFound,
)
from embudo.notifications.models import Notification, NotificationKind, NotificationPreference, TeamWebhook

logger = logging.getLogger(__name__)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def base_url() -> str:
    """Where links in emails and webhooks point (settings.BASE_URL, e.g. https://leads.example.com)."""
    return str(getattr(settings, "BASE_URL", "") or DEFAULT_BASE_URL)


def webhook_timeout() -> float:
    return float(getattr(settings, "NOTIFICATIONS_WEBHOOK_TIMEOUT", 5.0))


@dataclass(frozen=True)
class Notice:
    """One notification for :func:`notify_many` (the arguments of :func:`notify`)."""

    user_id: int
    kind: str
    title: str | Promise
    body: str | Promise = ""
    params: Mapping[str, Any] | None = None
    lead_id: int | None = None
    url: str = ""
    team_id: int | None = None
    recipient: selectors.Recipient | None = None


def notify(
    *,
    user_id: int,
    kind: str,
    title: str | Promise,
    body: str | Promise = "",
    params: Mapping[str, Any] | None = None,
    lead_id: int | None = None,
    url: str = "",
    team_id: int | None = None,
    recipient: selectors.Recipient | None = None,
) -> int | None:
    """Notify ``user_id`` (``kind`` e.g. "lead_assigned", "sla_reminder", "sla_breached", "lead_hot").

    ``title`` and ``body`` may be lazy translations (``gettext_lazy``) with ``%(name)s`` placeholders filled
    from ``params``: they are rendered in the recipient's language, not the language of the request or job
    that caused the notification.

    In the caller's transaction: the in-app row (if the user wants it), the email job (if wanted) and one
    webhook job per active webhook of ``team_id`` that wants ``kind``; all commit or roll back with the
    caller's writes. (Routing records the speed-to-lead "notified" mark with its other marks.)

    ``recipient``: the user's channels for ``kind`` and language when the caller read them already
    (``selectors.recipient_from_row``; routing joins them into its pool snapshot), saving a query.

    Returns the in-app notification id (None if the user's preferences mute this kind in the app).
    """
    notice = Notice(user_id=user_id, kind=kind, title=title, body=body, params=params, lead_id=lead_id, url=url,
                    team_id=team_id, recipient=recipient)  # fmt: skip
    return notify_many([notice])[0]


def notify_many(notices: Sequence[Notice]) -> list[int | None]:
    """:func:`notify` for several notices: the in-app rows in one statement, every job in one batch, the
    webhooks of each (team, kind) read once. Returns the in-app ids in the notices' order."""
    now = clock.now()
    rows: list[tuple[int, int, str, str, str, int | None, str]] = []  # (position, user, kind, title, body, lead, url)
    jobs: list[JobToDefer] = []
    webhooks: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for position, notice in enumerate(notices):
        channels, language = (
            notice.recipient if notice.recipient is not None else selectors.get_recipient(notice.user_id, notice.kind)
        )
        with translation.override(language or settings.LANGUAGE_CODE):
            values = {k: str(v) for k, v in (notice.params or {}).items()}
            title = (str(notice.title) % values if values else str(notice.title))[: domain.MAX_TITLE]
            body = str(notice.body) % values if values and notice.body else str(notice.body)
        url = notice.url[: domain.MAX_URL]
        if channels.in_app:
            rows.append((position, notice.user_id, notice.kind, title, body, notice.lead_id, url))
        if channels.email:
            email = {"user_id": notice.user_id, "kind": notice.kind, "title": title, "body": body, "url": url}
            jobs.append(JobToDefer("notifications.send_email", email))
        if notice.team_id is not None:
            key = (notice.team_id, notice.kind)
            if key not in webhooks:
                webhooks[key] = selectors.list_active_webhooks(notice.team_id, notice.kind)
            for webhook_id, _url in webhooks[key]:
                payload = domain.webhook_payload(
                    kind=notice.kind, title=title, body=body, lead_id=notice.lead_id,
                    url=domain.absolute_url(base_url(), url), team_id=notice.team_id, sent_at=now.isoformat(),
                )  # fmt: skip
                jobs.append(JobToDefer("notifications.post_webhook", {"webhook_id": webhook_id, "payload": payload}))
    ids: list[int | None] = [None] * len(notices)
    with transaction.atomic(savepoint=False):
        if rows:
            with connection.cursor() as cursor:  # plain SQL: once per routed lead on the intake path
                # The ids come from the sequence in the SELECT's order (ORDER BY n): sorted, they follow ``rows``.
                cursor.execute(
                    "INSERT INTO notifications_notification (user_id, kind, title, body, lead_id, url, created_at)"
                    " SELECT u.user_id, u.kind, u.title, u.body, u.lead_id, u.url, %s"
                    " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[])"
                    " WITH ORDINALITY AS u(user_id, kind, title, body, lead_id, url, n) ORDER BY u.n RETURNING id",
                    # Array literals: psycopg dumps a list element by element in Python, on every routed lead.
                    [now, *(array_or_nulls(r[i] for r in rows) for i in range(1, 7))],
                )
                inserted = sorted(int(r[0]) for r in cursor.fetchall())
            for row, notification_id in zip(rows, inserted, strict=True):
                ids[row[0]] = notification_id
        defer_jobs(jobs)
    return ids


# --- in-app ------------------------------------------------------------------------------------------


def mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of ``user``'s notifications read (idempotent: the first read time stays)."""
    notification = selectors.get_notification_of(user.pk, notification_id)
    if notification is None:
        raise NotificationNotFound("Notification not found.")
    if notification.read_at is None:
        notification.read_at = clock.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def mark_all_read(*, user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many changed."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=clock.now())


def set_preferences(*, user: User, preferences: Mapping[str, domain.Channels]) -> None:
    """Save ``user``'s channels per kind (only known kinds)."""
    unknown = sorted(set(preferences) - set(NotificationKind.values))
    if unknown:
        raise InvalidPreference("Unknown notification kind.", fields={k: ["Unknown kind."] for k in unknown})
    with transaction.atomic():
        for kind, channels in preferences.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"in_app": channels.in_app, "email": channels.email}
            )


# --- email -------------------------------------------------------------------------------------------


def send_email(*, user_id: int, kind: str, title: str, body: str, url: str) -> bool:
    """Email one notification in the user's language through the configured EMAIL_BACKEND.

    Returns False when there is nobody to email (user gone, inactive or without address).
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    language = user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    link = domain.absolute_url(base_url(), url)
    preferences = domain.absolute_url(base_url(), reverse("notifications:preferences"))
    with translation.override(language):
        heading = _(title) if title else kind
        subject = _("[Embudo] %(title)s") % {"title": heading}
        lines = [heading]
        if body:
            lines += ["", _(body)]
        if link:
            lines += ["", _("Open it in Embudo: %(link)s") % {"link": link}]
        lines += ["", "--", _("Choose which notifications you receive by email: %(link)s") % {"link": preferences}]
    send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


# --- team webhooks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    ok: bool
    status: str


def _post(url: str, secret: str, payload: Mapping[str, Any]) -> Delivery:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(clock.now().timestamp()))
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked when the webhook is saved
        url, data=body, headers=dict(domain.signed_headers(secret, timestamp, body)), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=webhook_timeout()) as response:  # noqa: S310
            return Delivery(ok=200 <= response.status < 300, status=f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return Delivery(ok=False, status=f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Delivery(ok=False, status=f"{type(exc).__name__}: {reason}"[:200])


def deliver_webhook(*, webhook_id: int, payload: Mapping[str, Any]) -> Delivery:
    """POST ``payload`` to the webhook, signed. Raises WebhookDeliveryFailed (the job retries with backoff);
    a deleted or deactivated webhook is skipped."""
    webhook = TeamWebhook.objects.filter(pk=webhook_id, active=True).first()
    if webhook is None:
        return Delivery(ok=True, status="skipped")
    delivery = _post(webhook.url, webhook.secret, payload)
    TeamWebhook.objects.filter(pk=webhook.pk).update(last_sent_at=clock.now(), last_status=delivery.status)
    if not delivery.ok:
        raise WebhookDeliveryFailed(f"Webhook {webhook.pk} failed: {delivery.status}")
    return delivery


def send_test_webhook(*, actor: User, webhook_id: int) -> Delivery:
    """Post a test message now (no retry) and report what the endpoint answered."""
    webhook = _webhook_of(actor, webhook_id)
    payload = domain.webhook_payload(
        kind="test", title=_("Test message from Embudo"), body=_("If you can read this, the webhook works."),
        lead_id=None, url=domain.absolute_url(base_url(), "/"), team_id=webhook.team_id,
        sent_at=clock.now().isoformat(),
    )  # fmt: skip
    delivery = _post(webhook.url, webhook.secret, payload)
    TeamWebhook.objects.filter(pk=webhook.pk).update(last_sent_at=clock.now(), last_status=delivery.status)
    return delivery


def _webhook_of(actor: User, webhook_id: int) -> TeamWebhook:
    if not selectors.can_manage_webhooks(actor):
        raise NotAllowed("Only managers and admins manage team webhooks.")
    webhook = selectors.get_webhook_visible_to(actor, webhook_id)
    if webhook is None:
        raise WebhookNotFound("Webhook not found.")
    return webhook


def _check_webhook(actor: User, *, team_id: int, name: str, url: str, kinds: Sequence[str]) -> None:
    if not selectors.can_manage_webhooks(actor):
        raise NotAllowed("Only managers and admins manage team webhooks.")
    errors: dict[str, list[str]] = {}
    team_ids = selectors.manageable_team_ids(actor)
    if team_ids is not None and team_id not in team_ids:
        errors["team"] = [_("Pick one of your teams.")]
    if not name.strip():
        errors["name"] = [_("Give the webhook a name.")]
    if not url.startswith(("https://", "http://")) or len(url) > domain.MAX_URL:
        errors["url"] = [_("Enter an http:// or https:// address.")]
    if set(kinds) - set(NotificationKind.values):
        errors["kinds"] = [_("Unknown notification kind.")]
    if errors:
        raise InvalidWebhook(_("Please correct the webhook."), fields=errors)


def create_webhook(
    *, actor: User, team_id: int, name: str, url: str, kinds: Sequence[str] = (), active: bool = True
) -> TeamWebhook:
    """A new team webhook with a fresh signing secret."""
    _check_webhook(actor, team_id=team_id, name=name, url=url, kinds=kinds)
    return TeamWebhook.objects.create(
        team_id=team_id, name=name.strip(), url=url, kinds=list(kinds), active=active, secret=secrets.token_hex(24)
    )


def update_webhook(
    *, actor: User, webhook_id: int, name: str, url: str, kinds: Sequence[str], active: bool
) -> TeamWebhook:
    webhook = _webhook_of(actor, webhook_id)
    _check_webhook(actor, team_id=webhook.team_id, name=name, url=url, kinds=kinds)
    webhook.name, webhook.url, webhook.kinds, webhook.active = name.strip(), url, list(kinds), active
    webhook.save(update_fields=["name", "url", "kinds", "active"])
    return webhook


def delete_webhook(*, actor: User, webhook_id: int) -> None:
    _webhook_of(actor, webhook_id).delete()
