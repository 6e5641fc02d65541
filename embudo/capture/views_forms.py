"""Views of the forms channel: the public form (hosted page, iframe, embed script, double opt-in
confirmation), Web-to-Lead, and the form builder UI."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from embudo.accounts.models import User
from embudo.capture import forms_channel, selectors, services, w2l
from embudo.capture.forms import FormSettingsForm, field_formset
from embudo.capture.models import Form, Submission

EDITOR_ROLES = frozenset({"admin", "marketing"})
EMBED_JS = Path(__file__).parent / "static" / "capture" / "embed.js"


def _meta(request: HttpRequest, data: Any, *, use_referer_header: bool = True) -> services.SubmissionMeta:
    """``use_referer_header``: False for a post of a form Embudo rendered, whose Referer is the form itself
    (the referrer seen when the page was shown travels in the form's ``referrer`` field)."""
    return services.SubmissionMeta(
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
        headers={k: v for k, v in request.headers.items() if k.lower() in selectors.KEPT_HEADERS},
        referrer=_referrer(request, data, use_header=use_referer_header),
        landing_page=str(data.get("landing_page") or "")[:2000],
        accept_language=request.headers.get("Accept-Language", ""),
    )


def _referrer(request: HttpRequest, data: Any, *, use_header: bool) -> str:
    """The page that sent the visitor: the form's ``referrer`` field (or, for a post from a page Embudo did not
    render, the Referer header), never Embudo's own pages nor the form's own page."""
    given = str(data.get("referrer") or (request.headers.get("Referer", "") if use_header else ""))
    landing_page = str(data.get("landing_page") or "")
    return forms_channel.external_referrer(given, own_host=request.get_host(), landing_page=landing_page)[:2000]


def _public_form(slug: str, *, include_inactive: bool = False) -> Form:
    forms = Form.objects.filter(slug=slug)
    form = (forms if include_inactive else forms.filter(active=True)).first()
    if form is None:
        raise Http404
    return form


def _frame_ancestors(form: Form) -> str:
    hosts = forms_channel.allowed_hosts(form)
    if not hosts:
        return "frame-ancestors *"
    sources = []
    for host in hosts:
        host = host.split("://")[-1].split("/")[0]
        # ".example.com" allows the domain and its subdomains (as ``host_allowed`` does for redirects).
        for source in [host[1:], f"*{host}"] if host.startswith(".") else [host]:
            sources += [f"http://{source}", f"https://{source}"]
    return "frame-ancestors 'self' " + " ".join(sources)


def _render_public(
    request: HttpRequest, form: Form, *, frame: bool, language: str, data: Any, errors: dict[str, list[str]],
    values: dict[str, Any], thanks: bool = False, redirect_to: str = "",
) -> HttpResponse:  # fmt: skip
    # "Not you?" (``?forget=1``): someone else on a shared device gets the whole form, and the cookie goes.
    forget = request.method != "POST" and request.GET.get("forget") == "1"
    token = request.COOKIES.get(forms_channel.KNOWN_COOKIE, "") if form.progressive_profiling and not forget else ""
    lead_id = forms_channel.known_lead_id(token)
    fields = forms_channel.visible_fields(form, lead_id)
    hidden_meta = {key: str(data.get(key, ""))[:2000] for key in forms_channel.META_FIELDS}
    if not hidden_meta["landing_page"] and not frame:
        query = request.GET.copy()
        query.pop("forget", None)
        encoded = query.urlencode()
        hidden_meta["landing_page"] = request.build_absolute_uri(request.path + (f"?{encoded}" if encoded else ""))
    if not hidden_meta["referrer"] and not frame:
        hidden_meta["referrer"] = _referrer(request, {"landing_page": hidden_meta["landing_page"]}, use_header=True)
    rows = [
        {
            "name": d.name, "type": d.type, "required": d.required, "label": d.label(language),
            "options": d.options, "value": values.get(d.name, data.get(d.name, "") if d.type == "hidden" else ""),
            "errors": errors.get(d.name, []),
        }
        for d in fields
    ]  # fmt: skip
    action = reverse("capture_forms:frame" if frame else "capture_forms:public", args=[form.slug])
    context = {
        "form": form, "frame": frame, "language": language, "rows": rows, "errors": errors,
        "consent_text": forms_channel.consent_text(form, language), "consent_error": errors.get("consent", []),
        "consent_checked": bool(values.get("__consent")), "general_errors": errors.get("__all__", []),
        "hidden_meta": hidden_meta, "fill_token": forms_channel.fill_token(form),
        "known_token": token if lead_id else "", "honeypot": forms_channel.HONEYPOT,
        "thanks": thanks, "thank_you": forms_channel.thank_you_text(form, language), "redirect_to": redirect_to,
        "action": f"{action}?lang={language}", "forget_url": f"{action}?lang={language}&forget=1",
    }  # fmt: skip
    with translation.override(language):
        response = render(request, "capture/public/frame.html" if frame else "capture/public/page.html", context)
        response.headers["Content-Language"] = language
    if errors:
        response.status_code = 400
    if forget:
        secure = request.is_secure()
        response.delete_cookie(forms_channel.KNOWN_COOKIE, path="/f/", samesite="None" if secure else "Lax")
    if frame:
        response.headers["Content-Security-Policy"] = _frame_ancestors(form)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def _unavailable(request: HttpRequest, form: Form, *, frame: bool, language: str) -> HttpResponse:
    """A post to a deactivated form, already stored: 410 with a page saying so in the visitor's language."""
    with translation.override(language):
        response = render(request, "capture/public/unavailable.html", {"form": form, "language": language,
                                                                        "frame": frame})  # fmt: skip
        response.headers["Content-Language"] = language
    response.status_code = 410
    if frame:
        response.headers["Content-Security-Policy"] = _frame_ancestors(form)
    response.headers["Cache-Control"] = "no-store"
    return response


def _handle_public(request: HttpRequest, slug: str, *, frame: bool) -> HttpResponse:
    # A post to a deactivated form is kept (a page left open); showing it is not.
    form = _public_form(slug, include_inactive=request.method == "POST")
    source = request.POST if request.method == "POST" else request.GET
    language = forms_channel.pick_language(
        form, query=request.GET.get("lang", ""), accept_language=request.headers.get("Accept-Language", "")
    )
    if request.method != "POST":
        return _render_public(request, form, frame=frame, language=language, data=source, errors={}, values={})
    meta = _meta(request, source, use_referer_header=False)
    data = {k: v for k, v in source.dict().items() if k != "referrer"}
    if meta.referrer:
        data["referrer"] = meta.referrer  # only a page outside Embudo and other than the form's own
    if not form.active:
        forms_channel.receive_post_to_inactive_form(form=form, data=data, meta=meta, language=language)
        return _unavailable(request, form, frame=frame, language=language)
    with translation.override(language):
        outcome = forms_channel.submit_form(
            form=form, data=data, meta=meta, language=language, base_url=request.build_absolute_uri("/")
        )
    if not outcome.ok:
        values = {**outcome.values, "__consent": source.get("consent") in ("on", "1", "true", "yes")}
        return _render_public(request, form, frame=frame, language=language, data=source, errors=outcome.errors,
                              values=values)  # fmt: skip
    target = forms_channel.safe_redirect(form)
    if target and not frame:
        response: HttpResponse = HttpResponseRedirect(target)
    else:
        response = _render_public(request, form, frame=frame, language=language, data=source, errors={}, values={},
                                  thanks=True, redirect_to=target)  # fmt: skip
    if outcome.consented and outcome.lead_id and form.progressive_profiling:
        # SameSite=None lets the cookie work inside another site's iframe, but browsers accept it only
        # with Secure, so on plain http (development) the cookie is Lax and works on the hosted page only.
        secure = request.is_secure()
        response.set_cookie(
            forms_channel.KNOWN_COOKIE, forms_channel.known_token(outcome.lead_id),
            max_age=forms_channel.KNOWN_MAX_AGE, path="/f/", httponly=True, secure=secure,
            samesite="None" if secure else "Lax",
        )  # fmt: skip
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def public_form(request: HttpRequest, slug: str) -> HttpResponse:
    """The hosted page (GET) and the submit endpoint (POST, CSRF-exempt: anti-bot checks instead)."""
    return _handle_public(request, slug, frame=False)


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def public_frame(request: HttpRequest, slug: str) -> HttpResponse:
    """The same form for an iframe on another site (frame-ancestors limited to the allowed hosts)."""
    return _handle_public(request, slug, frame=True)


@cache
def _embed_source() -> str:
    return EMBED_JS.read_text(encoding="utf-8")


@require_http_methods(["GET", "HEAD"])
def embed_js(request: HttpRequest, slug: str) -> HttpResponse:
    """The embed script: injects an iframe of the form with the host page's URL, referrer and UTM."""
    _public_form(slug)
    response = HttpResponse(_embed_source(), content_type="text/javascript; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Double opt-in: GET only shows a button (mail scanners follow links); POST confirms.

    CSRF-exempt: the signed token in the URL, sent only to the lead's mailbox, is what authorises the
    confirmation (a forged request cannot know it), and the page sets no session to protect."""
    submission_id = forms_channel.confirmation_submission(token)
    language = forms_channel.pick_language(
        Form(default_language="en"), query=request.GET.get("lang", ""),
        accept_language=request.headers.get("Accept-Language", ""),
    )  # fmt: skip
    state = "invalid" if submission_id is None else "ask"
    if request.method == "POST" and submission_id is not None:
        state = "done" if forms_channel.confirm_double_opt_in(token=token) else "invalid"
    with translation.override(language):
        response = render(request, "capture/public/confirm.html", {"state": state, "language": language})
    if state == "invalid":
        response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def web_to_lead(request: HttpRequest) -> HttpResponse:
    """Salesforce Web-to-Lead compatible endpoint (application/x-www-form-urlencoded)."""
    post = request.POST
    if request.content_type == "application/x-www-form-urlencoded":
        # Forms on ISO-8859-1 pages say so in their ``encoding`` field; read as UTF-8 their "José" was lost.
        encoding = w2l.encoding_of(request.body)
        if encoding and encoding != "utf-8":
            post = QueryDict(request.body, encoding=encoding)
    payload = w2l.payload_of(post)
    w2l.submit_w2l(payload=payload, meta=_meta(request, {}))
    posted_from = request.headers.get("Origin", "") or request.headers.get("Referer", "")
    target = w2l.return_url(payload, posted_from=posted_from)
    if target:
        return HttpResponseRedirect(target)
    language = forms_channel.pick_language(Form(), accept_language=request.headers.get("Accept-Language", ""))
    with translation.override(language):
        return render(request, "capture/public/w2l_thanks.html", {"language": language})


# --- builder -------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _can_edit(request: HttpRequest) -> bool:
    return _user(request).role in EDITOR_ROLES


def _require_editor(request: HttpRequest) -> None:
    if not _can_edit(request):
        raise PermissionDenied


def _get_form(form_id: int) -> Form:
    form = Form.objects.filter(pk=form_id).first()
    if form is None:
        raise Http404
    return form


@login_required
def form_list(request: HttpRequest) -> HttpResponse:
    forms = list(Form.objects.select_related("team").order_by("name"))
    counts = dict(
        Submission.objects.filter(form_id__in=[f.pk for f in forms])
        .values_list("form_id")
        .annotate(n=Count("id"))
        .values_list("form_id", "n")
    )
    rows = [{"form": f, "submissions": counts.get(f.pk, 0)} for f in forms]
    return render(request, "capture/forms/list.html", {"rows": rows, "can_edit": _can_edit(request)})


def _save(settings_form: FormSettingsForm, definitions: list[dict[str, Any]]) -> Form:
    with transaction.atomic():
        instance = settings_form.save(commit=False)
        instance.fields = definitions
        instance.save()
    return instance


def _editor(request: HttpRequest, instance: Form | None) -> HttpResponse:
    _require_editor(request)
    if request.method == "POST":
        settings_form = FormSettingsForm(request.POST, instance=instance)
        formset = field_formset(request.POST)
        if "add_field" in request.POST:
            data = request.POST.copy()
            data["fields-TOTAL_FORMS"] = str(int(data.get("fields-TOTAL_FORMS") or 0) + 1)
            formset = field_formset(data)
            settings_form = FormSettingsForm(data, instance=instance)
            settings_form.errors.clear()  # adding a row is not saving: no errors yet
        elif settings_form.is_valid() and formset.is_valid():
            saved = _save(settings_form, formset.definitions())
            messages.success(request, _("Form saved."))
            return redirect("capture_forms:edit", form_id=saved.pk)
    else:
        settings_form = FormSettingsForm(instance=instance)
        default = [{"name": "email", "type": "email", "required": True, "label_en": "Email",
                    "label_es": "Correo electrónico", "maps_to": "email"}]  # fmt: skip
        formset = field_formset(fields=instance.fields if instance else default)
    context = {
        "form": settings_form, "formset": formset, "instance": instance,
        "maps_to_options": [*forms_channel.mapping.LEAD_FIELD_NAMES, "message", "custom:"],
    }  # fmt: skip
    return render(request, "capture/forms/edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, form_id: int) -> HttpResponse:
    return _editor(request, _get_form(form_id))


@login_required
def form_preview(request: HttpRequest, form_id: int) -> HttpResponse:
    form = _get_form(form_id)
    language = request.GET.get("lang", "") if request.GET.get("lang") in forms_channel.LANGUAGES else "en"
    rows = [
        {"name": d.name, "type": d.type, "required": d.required, "label": d.label(language), "options": d.options}
        for d in forms_channel.field_defs(form)
    ]
    context = {"instance": form, "rows": rows, "language": language,
               "consent_text": forms_channel.consent_text(form, language)}  # fmt: skip
    return render(request, "capture/forms/preview.html", context)


@login_required
def form_embed(request: HttpRequest, form_id: int) -> HttpResponse:
    form = _get_form(form_id)
    hosted = request.build_absolute_uri(reverse("capture_forms:public", args=[form.slug]))
    script = request.build_absolute_uri(reverse("capture_forms:embed_js", args=[form.slug]))
    frame = request.build_absolute_uri(reverse("capture_forms:frame", args=[form.slug]))
    context = {
        "instance": form, "hosted": hosted,
        "script_snippet": f'<script src="{script}" async></script>',
        "iframe_snippet": f'<iframe src="{frame}" title="{escape(form.name)}" '
                          'style="width:100%;min-height:480px;border:0"></iframe>',
        "w2l": request.build_absolute_uri(reverse("capture_forms:w2l")),
    }  # fmt: skip
    return render(request, "capture/forms/embed.html", context)
