"""Template helpers of the pipeline: stage labels (translated for default stages), money, query strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils import translation

from embudo.pipeline import selectors

register = template.Library()


@register.filter
def stage_label(key: str, name: str = "") -> str:
    """A stage's label from its key and stored name (as on the timeline's payload)."""
    if selectors.DEFAULT_NAMES.get(key) == name or (not name and key in selectors.DEFAULT_LABELS):
        return str(selectors.DEFAULT_LABELS[key])
    return name or key


def format_money(amount: Any, currency: str = "", language: str | None = None) -> str:
    """``12,500 EUR`` in English, ``12.500 EUR`` in Spanish (no cents when whole). Hot path: the board
    formats hundreds of amounts, so this avoids Django's general ``number_format``."""
    try:
        value = Decimal(str(amount))
    except (ArithmeticError, ValueError):
        return ""
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    if (language or translation.get_language() or "en").startswith("es"):
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {currency}".strip()


@register.filter
def money(amount: Any, currency: str = "") -> str:
    return format_money(amount, currency)
