"""Intake operations pages: reconciliation, submissions (detail, replay) and WhatsApp channels."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import selectors, selectors_ops, services, whatsapp
from embudo.capture.models import Channel, WhatsAppChannel

OPS_ROLES = frozenset({"admin", "marketing"})
ADMIN_ROLES = frozenset({"admin"})
PERIOD_LABELS = (
    ("today", gettext_lazy("Today")),
    ("7d", gettext_lazy("7 days")),
    ("30d", gettext_lazy("30 days")),
    ("all", gettext_lazy("All time")),
)
BUCKETS = ("created", "merged", "rejected", "quarantined", "pending", "failed")

View = Callable[..., HttpResponse]


def roles_required(roles: frozenset[str]) -> Callable[[View], View]:
    """Logged-in users whose role is in ``roles``; everyone else gets 403."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if getattr(request.user, "role", "") not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@roles_required(OPS_ROLES)
def intake_report(request: HttpRequest) -> HttpResponse:
    since_text = request.GET.get("since", "").strip()
    period = "" if since_text else request.GET.get("period", "7d")
    try:
        since = selectors_ops.parse_since(since_text or period)
    except ValueError:
        messages.error(request, _("Unrecognised period. Use today, 24h, 7d, 30d or a date like 2026-11-01."))
        period, since_text = "7d", ""
        since = selectors_ops.parse_since(period)
    report = selectors.reconcile(since=since)
    channel_labels = dict(Channel.choices)
    channels = [
        {"name": channel_labels.get(name, name), "received": sum(counts.values()),
         "counts": [counts.get(bucket, 0) for bucket in BUCKETS], "unknown": counts.get("unknown", 0)}
        for name, counts in sorted(report.by_channel.items())
    ]  # fmt: skip
    context = {
        "report": report,
        "period": period,
        "since_text": since_text,
        "periods": PERIOD_LABELS,
        "channels": channels,
        "problems": selectors_ops.list_problem_submissions(since=since),
    }
    return render(request, "capture/ops/intake.html", context)


@roles_required(OPS_ROLES)
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = selectors.get_submission(submission_id)
    if submission is None:
        raise Http404
    context = {
        "submission": submission,
        "payload_json": json.dumps(submission.payload, indent=2, ensure_ascii=False, sort_keys=True),
        "headers": sorted((submission.headers or {}).items()),
        "context_items": sorted((k, v) for k, v in (submission.context or {}).items() if v not in ("", None)),
        "errors": sorted((submission.errors or {}).items()),
        "lead": selectors.get_lead_summary(submission.lead_id) if submission.lead_id else None,
    }
    return render(request, "capture/ops/submission_detail.html", context)


@require_POST
@roles_required(OPS_ROLES)
def submission_replay(request: HttpRequest, submission_id: int) -> HttpResponse:
    if selectors.get_submission(submission_id) is None:
        raise Http404
    services.replay_submissions(submission_ids=[submission_id])
    submission = selectors.get_submission(submission_id)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "capture/ops/partials/_submission_row.html", {"submission": submission})
    messages.success(request, _("Submission replayed."))
    return redirect("capture_ops:submission", submission_id=submission_id)


class WhatsAppChannelForm(forms.ModelForm):
    class Meta:
        model = WhatsAppChannel
        fields = ["name", "phone_number_id", "display_phone", "verify_token", "app_secret", "team",
                  "default_region", "active"]  # fmt: skip
        widgets = {"app_secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = accounts_selectors.list_teams()  # type: ignore[attr-defined]
        if self.instance.pk:
            # A stored secret is never shown again; leave empty to keep it.
            self.fields["app_secret"].required = False
            self.fields["app_secret"].help_text = _("Leave empty to keep the current secret.")


@roles_required(ADMIN_ROLES)
def whatsapp_channels(request: HttpRequest) -> HttpResponse:
    return render(request, "capture/ops/whatsapp_channels.html", {"channels": selectors_ops.list_whatsapp_channels()})


@roles_required(ADMIN_ROLES)
def whatsapp_channel_edit(request: HttpRequest, channel_id: int | None = None) -> HttpResponse:
    instance = selectors_ops.get_whatsapp_channel(channel_id) if channel_id else None
    if channel_id and instance is None:
        raise Http404
    form = WhatsAppChannelForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        team = data.pop("team", None)
        whatsapp.save_whatsapp_channel(channel_id=channel_id, data=data, team_id=team.pk if team else None)
        messages.success(request, _("WhatsApp channel saved."))
        return redirect("capture_ops:whatsapp_channels")
    return render(request, "capture/ops/whatsapp_channel_form.html", {"form": form, "channel": instance})
