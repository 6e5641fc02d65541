"""Salesforce Web-to-Lead compatible intake: ``POST /w2l/`` with Salesforce's field names, so an existing
form migrates by changing its ``action`` URL.

Rules (documented for admins):

- ``retURL`` is followed when its host is the host of the page that posted the form (its ``Origin`` or
  ``Referer``: the visitor goes back to the site they came from) or is in the ``allowed_hosts`` of an active
  form (the one allow-list admins already keep); otherwise a small thank-you page is shown. Never an open
  redirect to a third site.
- ``oid`` and Salesforce's debug/captcha fields are ignored; ``encoding`` (e.g. ``ISO-8859-1``) says how the
  post is encoded. ``00N…`` ids and any other field become custom fields under their own name; a repeated
  field (a multi-select picklist) keeps all its values, joined with ``;`` as Salesforce stores them.
- ``country_code`` / ``state_code`` (orgs with Salesforce's state and country picklists) fill country and
  region when ``country`` / ``state`` are not given; ``URL`` is the company's web site (its domain).
- The page that posted the form (``Referer``) is the lead's landing page, so its UTM parameters attribute
  the lead; it is the customer's own site, not a referral.
- A value that does not normalize (a phone "n/a", an emoji in a name) is left out of the lead and listed on
  the submission; the lead is kept (``services.LENIENT_CHANNELS``): the visitor never sees our errors.
- Anti-bot: the honeypot field of our forms (``website_url``) and a per-IP hourly limit; suspicious posts
  are stored and quarantined and still see the thank-you. There is no fill-time token (the page is not ours).
- A double submit (same IP, same body, within ``DUPLICATE_WINDOW_SECONDS``) is stored once; later
  repeats merge into the same lead by email or phone anyway.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from django.db.models import QuerySet
from django.http import QueryDict

from embudo.capture import forms_channel, mapping, services
from embudo.capture.models import Form, Submission
from embudo.core import clock

STANDARD = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "company": "company_name",
    "phone": "phone",
    "title": "job_title",
    "street": "street_address",
    "city": "city",
    "state": "region",
    "zip": "postal_code",
    "country": "country",
}
# Salesforce's state and country picklists post ISO codes under these names.
PICKLIST_CODES = {"country_code": "country", "state_code": "region"}
IGNORED = frozenset(
    {"oid", "retURL", "debug", "debugEmail", "encoding", "captcha_settings", "g-recaptcha-response", "submit",
     forms_channel.HONEYPOT, "csrfmiddlewaretoken", "embudo_visitor_id"}
)  # fmt: skip
MAX_PER_IP_PER_HOUR = 60
DUPLICATE_WINDOW_SECONDS = 600
MAX_VALUE = 5000


def _text(value: Any) -> str:
    return str(value or "").strip()[:MAX_VALUE]


@mapping.register("w2l")
def map_w2l(payload: Mapping[str, Any]) -> mapping.LeadInput:
    """Pure: Salesforce names to lead fields; ``mobile`` is the phone when no phone is given."""
    fields: dict[str, object] = {}
    custom: dict[str, Any] = {}
    codes: dict[str, str] = {}
    for key, raw in payload.items():
        value = _text(raw)
        if not value or key in IGNORED or key in ("lead_source", "description"):
            continue
        if key in STANDARD:
            fields[STANDARD[key]] = value
        elif key == "mobile":
            custom["mobile"] = value
        elif key in ("URL", "url", "website"):
            fields["company_domain"] = value
        elif key in PICKLIST_CODES:
            codes[PICKLIST_CODES[key]] = value
        else:
            custom[key[:100]] = value
    if not fields.get("phone") and custom.get("mobile"):
        fields["phone"] = custom.pop("mobile")
    for name, code in codes.items():
        fields.setdefault(name, code)
    return mapping.LeadInput(
        fields=fields,
        custom_fields=custom,
        message=_text(payload.get("description")),
        source=_text(payload.get("lead_source"))[:64],
    )


def _active_forms() -> QuerySet[Form]:
    return Form.objects.filter(active=True).exclude(allowed_hosts="")


def return_url(payload: Mapping[str, str], *, posted_from: str = "") -> str:
    """``retURL`` if its host is the host of ``posted_from`` (the ``Origin`` or ``Referer`` of the post) or is
    allow-listed by an active form, else ``""``."""
    url = _text(payload.get("retURL"))
    if not url:
        return ""
    own = _host(posted_from)
    if own and forms_channel.host_allowed(url, [own]):
        return url
    hosts = [h for form in _active_forms() for h in forms_channel.allowed_hosts(form)]
    return url if forms_channel.host_allowed(url, hosts) else ""


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return (parts.hostname or "").lower() if parts.scheme in ("http", "https") else ""


def payload_of(post: QueryDict) -> dict[str, str]:
    """The post's fields; a field sent several times (a multi-select picklist) as its values joined with ``;``."""
    return {key: ";".join(v for v in values if v) if len(values) > 1 else values[0]
            for key, values in post.lists() if values}  # fmt: skip


def encoding_of(query_string: bytes) -> str | None:
    """The ``encoding`` field of a urlencoded body (ASCII-safe to read before decoding), when Python knows it."""
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"encoding":
            label = unquote_to_bytes(value.replace(b"+", b" ")).decode("ascii", "replace").strip()
            try:
                return codecs.lookup(label).name
            except LookupError:
                return None
    return None


def _suspicion(payload: Mapping[str, str], ip: str | None) -> str:
    if _text(payload.get(forms_channel.HONEYPOT)):
        return "honeypot"
    if ip:
        since = clock.now() - timedelta(hours=1)
        if Submission.objects.filter(channel="w2l", ip=ip, received_at__gte=since).count() >= MAX_PER_IP_PER_HOUR:
            return "rate_limited"
    return ""


def _idempotency_key(payload: Mapping[str, str], ip: str | None) -> str:
    bucket = int(clock.now().timestamp()) // DUPLICATE_WINDOW_SECONDS
    body = json.dumps(dict(payload), sort_keys=True)
    return "w2l:" + hashlib.sha256(f"{ip}|{bucket}|{body}".encode()).hexdigest()


def submit_w2l(*, payload: Mapping[str, str], meta: services.SubmissionMeta) -> services.IntakeResult:
    """Store the post raw and process it; suspicious posts are quarantined."""
    reason = _suspicion(payload, meta.ip)
    # The Referer is the customer's page that holds the form: the lead's landing page (its UTM parameters
    # attribute the lead), not a referral from the customer's own site.
    context = services.ProcessingContext(quarantine_reason=reason, landing_page=meta.referrer)
    meta = dataclasses.replace(meta, referrer="")
    return services.capture(
        channel="w2l",
        payload=dict(payload),
        meta=meta,
        context=context,
        idempotency_key="" if reason else _idempotency_key(payload, meta.ip),
    )
