"""Notifications: in-app rows, plus email and team-webhook jobs deferred in the caller's transaction.

Interface used by other contexts (keep this signature): :func:`notify`.
"""

from __future__ import annotations


def notify(
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str = "",
    lead_id: int | None = None,
    url: str = "",
    team_id: int | None = None,
) -> int | None:
    """Notify ``user_id`` (``kind`` e.g. "lead_assigned", "sla_reminder", "sla_breached", "lead_hot").

    Returns the in-app notification id (None if the user's preferences mute this kind everywhere).
    """
    del user_id, kind, title, body, lead_id, url, team_id
    return None
