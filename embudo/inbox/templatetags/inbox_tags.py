from __future__ import annotations

from typing import Any

from django import template

from embudo.leads.models import Grade

register = template.Library()


@register.filter
def grade_label(value: Any) -> str:
    try:
        return str(Grade(value).label)
    except ValueError:
        return str(value or "—")
