"""Shared helpers of the forms channel tests."""

from __future__ import annotations

import time
from typing import Any

from embudo.capture import forms_channel
from embudo.capture.models import Form

FIELDS = [
    {"name": "email", "type": "email", "required": True, "label_en": "Email", "label_es": "Correo", "maps_to": "email"},
    {"name": "first_name", "type": "text", "required": True, "label_en": "First name", "label_es": "Nombre",
     "maps_to": "first_name"},
    {"name": "company", "type": "text", "required": False, "label_en": "Company", "label_es": "Empresa",
     "maps_to": "company_name"},
    {"name": "phone", "type": "tel", "required": False, "label_en": "Phone", "label_es": "Teléfono",
     "maps_to": "phone"},
    {"name": "job_title", "type": "text", "required": False, "label_en": "Job title", "label_es": "Cargo",
     "maps_to": "job_title"},
]  # fmt: skip


def make_form(**overrides: Any) -> Form:
    values: dict[str, Any] = {
        "name": "Contact", "slug": "contact", "fields": FIELDS, "default_region": "ES", "source": "website",
        "consent_text_en": "I agree to receive marketing emails.",
        "consent_text_es": "Acepto recibir correos comerciales.", "consent_version": "v2",
        "thank_you_en": "Thanks a lot!", "thank_you_es": "¡Muchas gracias!",
        "allowed_hosts": "www.example.com", "min_fill_seconds": 3,
    }  # fmt: skip
    values.update(overrides)
    return Form.objects.create(**values)


def post_data(form: Form, *, age: float = 30, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"_t": forms_channel.fill_token(form, issued_at=time.time() - age), "consent": "on"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}
