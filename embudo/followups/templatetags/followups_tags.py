"""Template helpers of the tasks pages."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def isodatetime(value: object) -> datetime | None:
    """An ISO 8601 string from an event payload as a datetime (None when it is not one)."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
