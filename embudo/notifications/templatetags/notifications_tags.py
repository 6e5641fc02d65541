from __future__ import annotations

from typing import Any

from django import template

from embudo.notifications import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context: Any) -> int:
    """The signed-in user's unread count: one indexed COUNT, at most once per request."""
    request = context.get("request")
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    cached = getattr(request, "_unread_notifications", None)
    if cached is None:
        cached = selectors.count_unread(user.pk)
        if request is not None:
            request._unread_notifications = cached
    return int(cached)
