"""Template helpers of the lead page."""

from __future__ import annotations

from django import template

from embudo.leads import domain

register = template.Library()


@register.filter
def whatsapp_url(phone: str) -> str:
    """WhatsApp's click-to-chat link for a stored phone ("+34 600…" → https://wa.me/34600…), or ""."""
    digits = domain.phone_digits(phone or "")
    return f"https://wa.me/{digits}" if len(digits) >= 6 else ""


@register.filter
def tel_url(phone: str) -> str:
    """A ``tel:`` link that keeps only the leading + and the digits."""
    digits = domain.phone_digits(phone or "")
    if not digits:
        return ""
    return f"tel:{'+' if (phone or '').strip().startswith('+') else ''}{digits}"
