"""The snippet's public collect endpoint and the tracking sites UI (admins and marketing)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from embudo.accounts.models import User
from embudo.tracking import selectors, services
from embudo.tracking.domain import events as domain
from embudo.tracking.forms import SiteForm
from embudo.tracking.models import TrackingSite

EDITOR_ROLES = frozenset({"admin", "marketing"})
MAX_BODY_BYTES = 16 * 1024


# --- public: POST /t/collect?k=<public key> ----------------------------------------------------------


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    return response


def _refuse(status: int, code: str) -> HttpResponse:
    # No CORS header: the browser hides the answer from a page that is not allowed.
    response = JsonResponse({"code": code}, status=status)
    response["Vary"] = "Origin"
    return response


@csrf_exempt
def collect(request: HttpRequest) -> HttpResponse:
    """Snippet events from an allowed origin. No cookie or session is read or set. The body is JSON sent
    as text/plain (a CORS "simple" request); at most 16 KB and 20 events; the site's per-IP rate limit."""
    if request.method not in ("POST", "OPTIONS"):
        return _refuse(405, "method_not_allowed")
    site = selectors.get_active_site_by_key(request.GET.get("k", ""))
    if site is None:
        return _refuse(404, "unknown_site")
    origin = request.headers.get("Origin", "")
    if not domain.origin_allowed(origin, site.origins()):
        return _refuse(403, "origin_not_allowed")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    if length > MAX_BODY_BYTES:
        return _cors(JsonResponse({"code": "too_large"}, status=413), origin)
    if services.hit_rate_limit(site=site, ip=request.META.get("REMOTE_ADDR") or "unknown"):
        response = _cors(JsonResponse({"code": "rate_limited"}, status=429), origin)
        response["Retry-After"] = "60"
        return response
    try:
        body = json.loads(request.body[: MAX_BODY_BYTES + 1] or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _cors(JsonResponse({"code": "malformed_json"}, status=400), origin)
    if not isinstance(body, dict) or len(request.body) > MAX_BODY_BYTES:
        return _cors(JsonResponse({"code": "malformed_json"}, status=400), origin)
    result = services.collect(site=site, body=body)
    return _cors(JsonResponse({"stored": result.stored, "rejected": result.rejected}, status=200), origin)


# --- sites UI ---------------------------------------------------------------------------------------------


def _editor(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if user.role not in EDITOR_ROLES:
        raise PermissionDenied
    return user


def _snippet(request: HttpRequest, site: TrackingSite) -> str:
    script = request.build_absolute_uri(f"{settings.STATIC_URL}tracking/embudo-track.js")
    endpoint = request.build_absolute_uri(reverse("tracking:collect"))
    return (
        f'<script src="{script}"\n        data-site="{site.public_key}" data-endpoint="{endpoint}" defer></script>\n'
        "<!-- Nothing is sent before consent: call EmbudoTrack.consent() from your consent banner,\n"
        '     or render the tag with data-consent="granted" once the visitor agreed. -->'
    )


@login_required
def site_list(request: HttpRequest) -> HttpResponse:
    _editor(request)
    counts = selectors.site_request_counts()
    rows = [{"site": s, "requests": counts.get(s.pk, 0)} for s in selectors.list_sites()]
    return render(request, "tracking/sites.html", {"rows": rows})


def _initial(site: TrackingSite) -> dict[str, object]:
    return {"name": site.name, "allowed_origins": site.allowed_origins, "active": site.active,
            "max_requests_per_minute": site.max_requests_per_minute}  # fmt: skip


def _edit(request: HttpRequest, site: TrackingSite | None) -> HttpResponse:
    user = _editor(request)
    form = SiteForm(request.POST or None, initial=_initial(site) if site else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = services.save_site(site=site, name=data["name"], allowed_origins=data["allowed_origins"],
                                   active=data["active"], max_requests_per_minute=data["max_requests_per_minute"],
                                   actor_id=user.pk)  # fmt: skip
        messages.success(request, _("Tracking site saved."))
        return redirect("tracking:site_edit", site_id=saved.pk)
    context = {"form": form, "site": site, "snippet": _snippet(request, site) if site else ""}
    return render(request, "tracking/site_edit.html", context, status=400 if form.errors else 200)


@login_required
def site_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
def site_edit(request: HttpRequest, site_id: int) -> HttpResponse:
    site = selectors.get_site(site_id)
    if site is None:
        raise Http404
    return _edit(request, site)


@login_required
@require_POST
def site_rotate(request: HttpRequest, site_id: int) -> HttpResponse:
    _editor(request)
    site = selectors.get_site(site_id)
    if site is None:
        raise Http404
    services.rotate_site_key(site=site)
    messages.success(request, _("New key created: update the snippet on your site."))
    return redirect("tracking:site_edit", site_id=site.pk)
