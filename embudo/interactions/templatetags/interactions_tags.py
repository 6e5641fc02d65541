"""Labels for interaction payloads in the lead timeline (events store codes, pages show words)."""

from __future__ import annotations

from django import template

from embudo.interactions import domain
from embudo.interactions.models import OUTCOME_LABELS, Direction, Kind

register = template.Library()


@register.filter
def ix_kind_label(value: object) -> str:
    try:
        return str(Kind(str(value)).label)
    except ValueError:
        return str(value)


@register.filter
def ix_outcome_label(value: object) -> str:
    return str(OUTCOME_LABELS.get(str(value), value or ""))


@register.filter
def ix_direction_label(value: object) -> str:
    try:
        return str(Direction(str(value)).label)
    except ValueError:
        return str(value)


@register.filter
def ix_duration(value: object) -> str:
    """Seconds as mm:ss (h:mm:ss from one hour); "" when unknown."""
    return domain.format_duration(value) if isinstance(value, int) and not isinstance(value, bool) else ""
