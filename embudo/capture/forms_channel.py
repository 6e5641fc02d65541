"""The forms channel of intake: hosted (/f/<slug>/) and embedded forms built in the UI.

A public form post is CSRF-exempt (it arrives from other sites), so every post goes through the anti-bot
checks first: honeypot, signed fill-time token, per-IP and per-form rate limits. Suspicious posts are
stored and quarantined (never deleted) and the sender sees the normal thank-you. Everything else is
stored raw through ``services.receive_submission`` and processed by ``services.process_submission``;
a post that fails the form's own validation is stored too (quarantine reason ``incomplete`` or, for
bad values, rejected by the intake as ``invalid``), so nothing a person typed is lost.

The payload keeps the form's field definitions (``maps``), so the "form" mapper is pure and a replay
maps the submission exactly as it was received, even after the form changes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import mapping, services
from embudo.capture.domain import normalize
from embudo.capture.models import ConsentRecord, Form, Submission, SubmissionStatus
from embudo.core import clock
from embudo.leads import selectors as leads_selectors

FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox", "hidden")
LANGUAGES = ("en", "es")
HONEYPOT = "website_url"  # a field name bots love; humans never see it
TOKEN_FIELD = "_t"  # noqa: S105 - a form field name, not a secret
KNOWN_FIELD = "known_lead_token"
UTM_FIELDS = tuple(f"utm_{k}" for k in ("source", "medium", "campaign", "term", "content"))
# embudo_visitor_id: the tracking snippet's anonymous visitor, stitched to the lead at intake.
META_FIELDS = ("landing_page", "referrer", *UTM_FIELDS, "embudo_visitor_id")
TOKEN_SALT = "embudo.capture.form_fill"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = 60 * 60 * 24  # a page left open for a day still works
KNOWN_SALT = "embudo.capture.known_visitor"
KNOWN_COOKIE = "embudo_known"
KNOWN_MAX_AGE = 60 * 60 * 24 * 365
DOI_SALT = "embudo.capture.double_opt_in"
DOI_MAX_AGE = 60 * 60 * 24 * 14
MAX_VALUE = 5000
# Quarantine reasons of posts that look automated (an IP sending them uses up its own hourly limit).
BOT_REASONS = ("honeypot", "bad_token", "too_fast")
INACTIVE_REASON = "inactive_form"
# A post accepted for processing ends in one of these (validation errors are rejected or "incomplete").
ACCEPTED_STATUSES = (SubmissionStatus.PENDING, SubmissionStatus.PROCESSED, SubmissionStatus.FAILED)


# --- form definition -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str = "text"
    required: bool = False
    label_en: str = ""
    label_es: str = ""
    options: tuple[str, ...] = ()
    maps_to: str = ""

    def label(self, language: str) -> str:
        return (self.label_es if language == "es" else self.label_en) or self.label_en or self.label_es or self.name

    @property
    def lead_field(self) -> str:
        return self.maps_to if self.maps_to in mapping.LEAD_FIELD_NAMES else ""


def field_defs(form: Form) -> list[FieldDef]:
    defs = []
    for raw in form.fields or []:
        if not isinstance(raw, Mapping) or not raw.get("name"):
            continue
        defs.append(
            FieldDef(
                name=str(raw["name"]),
                type=str(raw.get("type") or "text") if raw.get("type") in FIELD_TYPES else "text",
                required=bool(raw.get("required")),
                label_en=str(raw.get("label_en") or ""),
                label_es=str(raw.get("label_es") or ""),
                options=tuple(str(o) for o in raw.get("options") or []),
                maps_to=str(raw.get("maps_to") or ""),
            )
        )
    return defs


def pick_language(form: Form, *, query: str = "", accept_language: str = "") -> str:
    """``?lang=`` wins, then the browser's Accept-Language, then the form's default."""
    if query[:2] in LANGUAGES:
        return query[:2]
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return form.default_language if form.default_language in LANGUAGES else "en"


def _in_language(texts: Mapping[str, str], language: str) -> tuple[str, str]:
    """(text, its language): the visitor's language, else whichever language the form has a text in."""
    for code in (language, *LANGUAGES):
        if (texts.get(code) or "").strip():
            return texts[code], code
    return "", ""


def consent_text_in(form: Form, language: str) -> tuple[str, str]:
    """The consent text shown to a visitor of ``language`` and the language it is written in (a form with
    a text in one language only shows it to everyone, so nobody is asked to agree to an invisible text)."""
    return _in_language({"en": form.consent_text_en, "es": form.consent_text_es}, language)


def consent_text(form: Form, language: str) -> str:
    return consent_text_in(form, language)[0]


def thank_you_text(form: Form, language: str) -> str:
    return _in_language({"en": form.thank_you_en, "es": form.thank_you_es}, language)[0]


def phone_region(form: Form) -> str:
    """The country a phone number without its country code is read in when the person gave no country: the
    form's own default, else its team's."""
    return form.default_region or accounts_selectors.team_default_country(form.team_id)


def allowed_hosts(form: Form) -> list[str]:
    return [h.strip().lower() for h in (form.allowed_hosts or "").splitlines() if h.strip()]


def host_allowed(url: str, hosts: list[str]) -> bool:
    """An absolute http(s) URL whose host is on the list (exactly, or a subdomain of ``.example.com``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    for allowed in hosts:
        allowed = allowed.split("://")[-1].split("/")[0].split(":")[0]
        if allowed.startswith(".") and (host == allowed[1:] or host.endswith(allowed)):
            return True
        if host == allowed:
            return True
    return False


def external_referrer(url: str, *, own_host: str, landing_page: str = "") -> str:
    """``url`` unless it is a page of Embudo itself (``own_host``, as in ``request.get_host()``) or the form's
    own landing page: the page holding a form did not refer the visitor to it."""
    url = url.strip()
    if not url:
        return ""
    try:
        host = (urlsplit(url).hostname or "").lower()
        own = (urlsplit(f"//{own_host}").hostname or "").lower()
    except ValueError:
        return url  # not a URL: kept as given, attribution copes with it
    if host and host == own:
        return ""
    if landing_page and url.split("#")[0] == landing_page.strip().split("#")[0]:
        return ""
    return url


def safe_redirect(form: Form) -> str:
    """``redirect_url`` only when its host is allow-listed (ASVS V5.1.5): never an open redirect."""
    return form.redirect_url if form.redirect_url and host_allowed(form.redirect_url, allowed_hosts(form)) else ""


# --- anti-bot --------------------------------------------------------------------------------------


def fill_token(form: Form, *, issued_at: float | None = None) -> str:
    """A signed "page rendered at" stamp; the post must come back with it, not too fast."""
    return signing.dumps({"f": form.pk, "t": issued_at if issued_at is not None else time.time()}, salt=TOKEN_SALT)


def _rate_limited(form: Form, ip: str | None) -> bool:
    """Over the form's hourly limits, counting the posts accepted for processing (a lead, or an attempt at
    one). The form-wide limit ignores bot posts (a flood from elsewhere must not quarantine the next human)
    and every limit ignores posts that failed validation (a visitor's own typos); the per-IP limit also
    counts that IP's bot posts."""
    since = clock.now() - timedelta(hours=1)
    recent = Submission.objects.filter(form_id=form.pk, received_at__gte=since)
    accepted = Q(status__in=ACCEPTED_STATUSES)
    if ip:
        bots = Q(status=SubmissionStatus.QUARANTINED, reason__in=BOT_REASONS)
        if recent.filter(accepted | bots, ip=ip).count() >= form.max_per_ip_per_hour:
            return True
    return recent.filter(accepted).count() >= form.max_per_hour


def suspicion(form: Form, data: Mapping[str, str], ip: str | None, *, now: float | None = None) -> str:
    """The quarantine reason of a post ("" when it looks human)."""
    if data.get(HONEYPOT, "").strip():
        return "honeypot"
    try:
        stamp = signing.loads(data.get(TOKEN_FIELD, ""), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        issued = float(stamp["t"])
        if stamp["f"] != form.pk:
            return "bad_token"
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return "bad_token"
    if (now if now is not None else time.time()) - issued < form.min_fill_seconds:
        return "too_fast"
    if _rate_limited(form, ip):
        return "rate_limited"
    return ""


# --- known visitor (progressive profiling) ------------------------------------------------------


def known_token(lead_id: int) -> str:
    return signing.dumps({"l": lead_id}, salt=KNOWN_SALT)


def known_lead_id(token: str) -> int | None:
    if not token:
        return None
    try:
        value = signing.loads(token, salt=KNOWN_SALT, max_age=KNOWN_MAX_AGE)
        return int(value["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def visible_fields(form: Form, lead_id: int | None) -> list[FieldDef]:
    """The fields to ask: all of them, or for a known visitor only those the lead still lacks.

    Values are looked at, never returned: the page shows which questions remain, not the answers.
    """
    defs = field_defs(form)
    if not lead_id or not form.progressive_profiling:
        return defs
    lead = leads_selectors.get_lead(lead_id)
    if lead is None:
        return defs
    custom = lead.custom_fields or {}

    def known(d: FieldDef) -> bool:
        if d.type == "hidden":
            return False
        if d.lead_field:
            return bool(getattr(lead, d.lead_field, "") or "")
        key = d.maps_to.removeprefix("custom:") if d.maps_to.startswith("custom:") else d.name
        return custom.get(key) not in (None, "")

    missing = [d for d in defs if not known(d)]
    if not any(d.type != "hidden" for d in missing):
        return defs  # nothing left to learn: ask the whole form again (still without any value)
    return missing


# --- validation ----------------------------------------------------------------------------------


@dataclass
class Validation:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    consent: bool = False


def _value_error(lead_field: str) -> str:
    messages = {
        "email": _("Enter a valid email address."),
        "phone": _("Enter a valid phone number."),
        "country": _("Enter a known country."),
        "first_name": _("Enter a name with letters only."),
        "last_name": _("Enter a name with letters only."),
        "language": _("Enter a language such as English or Spanish."),
    }
    return messages.get(lead_field, _("Enter a valid value."))


def validate(form: Form, fields: list[FieldDef], data: Mapping[str, str]) -> Validation:
    """Required fields, select options, consent, then the intake's own normalization (so a visitor sees
    the error inline instead of a rejected submission). Messages follow the active language."""
    result = Validation()
    lead_values: dict[str, object] = {}
    for d in fields:
        if d.type == "checkbox":
            value: Any = data.get(d.name) in ("on", "1", "true", "yes")
            if d.required and not value:
                result.errors[d.name] = [_("Please tick this box.")]
        else:
            value = str(data.get(d.name, "")).strip()[:MAX_VALUE]
            if d.required and not value:
                result.errors[d.name] = [_("This field is required.")]
            elif d.type == "select" and value and d.options and value not in d.options:
                result.errors[d.name] = [_("Choose one of the options.")]
            if d.lead_field and value:
                lead_values[d.lead_field] = value
        result.values[d.name] = value
    normalized = normalize.normalize_lead_fields(lead_values, default_region=phone_region(form) or None)
    for d in fields:
        if d.lead_field in normalized.errors and d.name not in result.errors:
            result.errors[d.name] = [_value_error(d.lead_field)]
    # Without a text in any language no checkbox is shown: a posted "consent" agreed to nothing.
    has_text = bool(consent_text(form, "en"))
    result.consent = has_text and data.get("consent") in ("on", "1", "true", "yes")
    if form.consent_required and has_text and not result.consent:
        result.errors["consent"] = [_("Please give your consent to continue.")]
    return result


# --- submission ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormOutcome:
    ok: bool  # show the thank-you (also for quarantined bots)
    errors: dict[str, list[str]]
    values: dict[str, Any]
    lead_id: int | None = None
    consented: bool = False
    submission_id: int | None = None


def build_payload(
    form: Form, fields: list[FieldDef], validation: Validation, data: Mapping[str, str], language: str
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "form": form.slug,
        "language": language,
        "source": form.source,
        "values": validation.values,
        "maps": {d.name: d.maps_to for d in fields},
        "types": {d.name: d.type for d in fields},
    }
    for key in META_FIELDS:
        if data.get(key):
            payload[key] = str(data[key])[:2000]
    text, text_language = consent_text_in(form, language)
    if validation.consent and text:
        payload["consent"] = {
            "purpose": form.consent_purpose,
            "text": text,
            "text_version": form.consent_version,
            "language": text_language,  # the language of the text the visitor agreed to
            "page_url": str(data.get("landing_page", ""))[:2000],
        }
    token = data.get(KNOWN_FIELD, "")
    lead_id = known_lead_id(token)
    if lead_id:
        payload[KNOWN_FIELD] = token
        payload["known_lead_id"] = lead_id
        lead = leads_selectors.get_lead(lead_id)
        if lead is not None:
            # Server-side only (never rendered): lets the intake match the known lead when the visitor
            # was not asked for an email or phone this time.
            payload["known_keys"] = {"email": lead.email or "", "phone": lead.phone or ""}
    return payload


def _idempotency_key(form: Form, ip: str | None, data: Mapping[str, str]) -> str:
    """Same rendered page (same fill token), same IP, same values: a double click, stored once."""
    body = json.dumps({k: data.get(k) for k in sorted(data)}, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{form.pk}|{ip}|{body}".encode()).hexdigest()
    return f"form:{digest}"


def submit_form(
    *, form: Form, data: Mapping[str, str], meta: services.SubmissionMeta, language: str, base_url: str
) -> FormOutcome:
    """Receive one public post of ``form``: anti-bot, validation, store raw, process, double opt-in."""
    fields = visible_fields(form, known_lead_id(data.get(KNOWN_FIELD, "")))
    context = services.ProcessingContext(
        default_region=phone_region(form), team_id=form.team_id, language=language, source=form.source
    )
    reason = suspicion(form, data, meta.ip)
    validation = validate(form, fields, data) if not reason else Validation()
    if reason:
        raw = {k: str(v)[:MAX_VALUE] for k, v in data.items() if k != TOKEN_FIELD}
        services.capture(channel="form", payload={"form": form.slug, "raw": raw}, meta=meta, form_id=form.pk,
                         context=_with(context, quarantine_reason=reason))  # fmt: skip
        return FormOutcome(ok=True, errors={}, values={})
    payload = build_payload(form, fields, validation, data, language)
    if validation.errors:
        services.capture(channel="form", payload=payload, meta=meta, form_id=form.pk,
                         context=_with(context, quarantine_reason="incomplete"))  # fmt: skip
        return FormOutcome(ok=False, errors=validation.errors, values=validation.values)
    result = services.capture(channel="form", payload=payload, meta=meta, form_id=form.pk, context=context,
                              idempotency_key=_idempotency_key(form, meta.ip, data))  # fmt: skip
    if result.status == SubmissionStatus.REJECTED:
        errors = {d.name: [_value_error(d.lead_field)] for d in fields if d.lead_field in result.errors}
        return FormOutcome(ok=False, errors=errors or {"__all__": [_("Please check your answers.")]},
                           values=validation.values)  # fmt: skip
    if (
        form.double_opt_in
        and validation.consent
        and result.lead_id
        and not result.duplicate_request
        and result.status == SubmissionStatus.PROCESSED
        and not _confirmation_needless(result.submission_id, result.lead_id)
    ):
        with transaction.atomic():
            app.configure_task("capture.send_double_opt_in").defer(
                submission_id=result.submission_id, base_url=base_url
            )
    return FormOutcome(ok=True, errors={}, values={}, lead_id=result.lead_id, consented=validation.consent,
                       submission_id=result.submission_id)  # fmt: skip


def receive_post_to_inactive_form(
    *, form: Form, data: Mapping[str, str], meta: services.SubmissionMeta, language: str
) -> services.IntakeResult:
    """A post to a deactivated form (a page left open): stored raw and quarantined as ``inactive_form`` (a bot's
    filled honeypot stays ``honeypot``), so what a person typed is kept and the reconciliation counts it."""
    reason = "honeypot" if data.get(HONEYPOT, "").strip() else INACTIVE_REASON
    raw = {k: str(v)[:MAX_VALUE] for k, v in data.items() if k != TOKEN_FIELD}
    context = services.ProcessingContext(
        default_region=phone_region(form), team_id=form.team_id, language=language, source=form.source,
        quarantine_reason=reason,
    )  # fmt: skip
    payload = {"form": form.slug, "language": language, "raw": raw}
    return services.capture(channel="form", payload=payload, meta=meta, form_id=form.pk, context=context,
                            idempotency_key=_idempotency_key(form, meta.ip, data))  # fmt: skip


def _with(context: services.ProcessingContext, **changes: Any) -> services.ProcessingContext:
    return replace(context, **changes)


@mapping.register("form")
def map_form(payload: Mapping[str, Any]) -> mapping.LeadInput:
    """Pure: values by the field definitions stored with the submission. Unmapped fields and
    ``custom:<key>`` fields become custom fields; a textarea mapped to ``message`` is the timeline text."""
    values = payload.get("values")
    if not isinstance(values, Mapping):  # a quarantined post: nothing to map
        return mapping.LeadInput(fields={})
    maps = payload.get("maps") or {}
    fields: dict[str, object] = {}
    custom: dict[str, Any] = {}
    message = ""
    for name, value in values.items():
        if value is None or value == "":
            continue
        target = str(maps.get(name) or "")
        if target in mapping.LEAD_FIELD_NAMES:
            fields[target] = value
        elif target == "message":
            message = str(value)
        else:
            custom[target.removeprefix("custom:") if target.startswith("custom:") else name] = value
    known = payload.get("known_keys")
    if isinstance(known, Mapping) and not fields.get("email") and not fields.get("phone"):
        if known.get("email"):
            fields["email"] = known["email"]
        elif known.get("phone"):
            fields["phone"] = known["phone"]
    consents: tuple[mapping.ConsentInput, ...] = ()
    consent = payload.get("consent")
    if isinstance(consent, Mapping) and consent.get("purpose"):
        consents = (
            mapping.ConsentInput(
                purpose=str(consent["purpose"]),
                text=str(consent.get("text", "")),
                text_version=str(consent.get("text_version", "")),
                language=str(consent.get("language", "")),
                page_url=str(consent.get("page_url", "")),
            ),
        )
    return mapping.LeadInput(
        fields=fields, custom_fields=custom, consents=consents, message=message, source=str(payload.get("source") or "")
    )


# --- double opt-in -------------------------------------------------------------------------------


def confirmation_token(submission_id: int) -> str:
    return signing.dumps({"s": submission_id}, salt=DOI_SALT)


def confirmation_submission(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=DOI_SALT, max_age=DOI_MAX_AGE)["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def confirm_double_opt_in(*, token: str) -> bool:
    """Mark the consents recorded by the token's submission as confirmed (idempotent)."""
    submission_id = confirmation_submission(token)
    if submission_id is None:
        return False
    with transaction.atomic():
        consents = ConsentRecord.objects.filter(submission_id=submission_id)
        if not consents.exists():
            return False
        consents.filter(confirmed_at__isnull=True).update(confirmed_at=clock.now())
    return True


def _confirmation_needless(submission_id: int, lead_id: int) -> bool:
    """True when the submission recorded no consent, or the lead has already confirmed each of its purposes
    (through this submission or an earlier one, and not withdrawn since): no confirmation email is due."""
    purposes = set(ConsentRecord.objects.filter(submission_id=submission_id).values_list("purpose", flat=True))
    if not purposes:
        return True
    confirmed: set[str] = set()
    rows = (
        ConsentRecord.objects.filter(lead_id=lead_id, purpose__in=purposes)
        .order_by("recorded_at", "id")
        .values_list("purpose", "granted", "confirmed_at")
    )
    for purpose, granted, confirmed_at in rows:  # oldest first: a withdrawal undoes earlier confirmations
        if not granted:
            confirmed.discard(purpose)
        elif confirmed_at is not None:
            confirmed.add(purpose)
    return purposes <= confirmed


@app.task(name="capture.send_double_opt_in")
def send_double_opt_in(submission_id: int, base_url: str) -> None:
    """Email the confirmation link, in the lead's language. Safe to retry (confirming twice is harmless)."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None or not submission.lead_id:
        return
    lead = leads_selectors.get_lead(submission.lead_id)
    if lead is None or not lead.email:
        return
    if _confirmation_needless(submission_id, lead.pk):
        return
    form = Form.objects.filter(pk=submission.form_id).first() if submission.form_id else None
    language = (lead.language or (submission.payload or {}).get("language") or "en")[:2]
    link = f"{base_url.rstrip('/')}/f/confirm/{confirmation_token(submission_id)}/"
    with translation.override(language if language in LANGUAGES else "en"):
        subject = _("Please confirm your subscription")
        body = _(
            "Hello,\n\nPlease confirm that you want to hear from us (%(form)s) by opening this link:\n\n%(link)s\n\n"
            "If you did not ask for this, ignore this email."
        ) % {"form": form.name if form else "", "link": link}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [lead.email])
