"""The notification list, the live bell, preferences, and team webhooks (managers and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core.exceptions import DomainError
from embudo.notifications import domain, selectors, services
from embudo.notifications.forms import WebhookForm
from embudo.notifications.models import NotificationKind

PAGE_SIZE = 30


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """Polled by the bell: 204 (nothing to swap) while the count the page shows is still right; 286 (htmx:
    stop polling) once the session is gone."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    unread = selectors.count_unread(request.user.pk)
    if request.GET.get("n") == str(unread):
        return HttpResponse(status=204)
    return render(request, "notifications/partials/_bell_link.html", {"unread": unread})


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    user = _user(request)
    rows = selectors.list_notifications(user.pk, offset=offset, limit=PAGE_SIZE + 1)
    context = {
        "notifications": rows[:PAGE_SIZE],
        "next_offset": offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
        "unread": selectors.count_unread(user.pk),
    }
    return render(request, "notifications/list.html", context)


@login_required
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification's link, marking it read."""
    try:
        notification = services.mark_read(user=_user(request), notification_id=notification_id)
    except DomainError as exc:
        raise Http404 from exc
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.mark_read(user=_user(request), notification_id=notification_id)
    except DomainError as exc:
        raise Http404 from exc
    return redirect("notifications:list")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(user=_user(request))
    messages.success(request, _("Marked %(count)s notifications as read.") % {"count": count})
    return redirect("notifications:list")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        posted = request.POST
        chosen = {
            row.kind: domain.Channels(in_app=posted.get(f"{row.kind}-in_app") == "on",
                                      email=posted.get(f"{row.kind}-email") == "on")
            for row in selectors.list_preferences(user.pk)
        }  # fmt: skip
        services.set_preferences(user=user, preferences=chosen)
        messages.success(request, _("Notification preferences saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"rows": selectors.list_preferences(user.pk)})


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.can_manage_webhooks(user):
        raise PermissionDenied
    return user


def _teams_for(user: User) -> list[object]:
    team_ids = selectors.manageable_team_ids(user)
    teams = accounts_selectors.list_teams()
    return list(teams if team_ids is None else teams.filter(pk__in=team_ids))


@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    teams = _teams_for(user)
    form = WebhookForm(request.POST or None, teams=teams)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_webhook(actor=user, team_id=data["team_id"], name=data["name"], url=data["url"],
                                    kinds=data["kinds"], active=data["active"])  # fmt: skip
        except DomainError as exc:
            form.add_service_errors(exc.fields)
        else:
            messages.success(request, _("Webhook added."))
            return redirect("notifications:webhooks")
    labels = dict(NotificationKind.choices)
    rows = [(w, [labels.get(k, k) for k in w.kinds]) for w in selectors.list_webhooks_visible_to(user)]
    return render(request, "notifications/webhooks.html", {"form": form, "webhooks": rows})


@login_required
def webhook_edit(request: HttpRequest, webhook_id: int) -> HttpResponse:
    user = _manager(request)
    webhook = selectors.get_webhook_visible_to(user, webhook_id)
    if webhook is None:
        raise Http404
    initial = {"team_id": webhook.team_id, "name": webhook.name, "url": webhook.url, "kinds": webhook.kinds,
               "active": webhook.active}  # fmt: skip
    form = WebhookForm(request.POST or None, initial=initial, teams=_teams_for(user), editing=True)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_webhook(actor=user, webhook_id=webhook.pk, name=data["name"], url=data["url"],
                                    kinds=data["kinds"], active=data["active"])  # fmt: skip
        except DomainError as exc:
            form.add_service_errors(exc.fields)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("notifications:webhooks")
    return render(request, "notifications/webhook_edit.html", {"form": form, "webhook": webhook})


@login_required
@require_POST
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    try:
        services.delete_webhook(actor=_manager(request), webhook_id=webhook_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Webhook deleted."))
    return redirect("notifications:webhooks")


@login_required
@require_POST
def webhook_test(request: HttpRequest, webhook_id: int) -> HttpResponse:
    try:
        delivery = services.send_test_webhook(actor=_manager(request), webhook_id=webhook_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if delivery.ok:
            messages.success(request, _("Test message delivered (%(status)s).") % {"status": delivery.status})
        else:
            messages.error(request, _("Test message failed: %(status)s.") % {"status": delivery.status})
    return redirect("notifications:webhooks")
