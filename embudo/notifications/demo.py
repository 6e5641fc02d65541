"""Demo notifications: each sales rep starts with a few notifications about their newest leads (idempotent:
only for reps who have none), so the bell and the list have something to show."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.leads import selectors as leads_selectors
from embudo.notifications import domain
from embudo.notifications.models import Notification


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams
    now = clock.now()
    for user in users.values():
        if user.role != "sales_rep" or Notification.objects.filter(user=user).exists():
            continue
        leads = list(leads_selectors.leads_visible_to(user).filter(owner=user).order_by("-created_at", "-id")[:3])
        rows = []
        with translation.override(user.language or "en"):
            for i, lead in enumerate(leads):
                kind = domain.LEAD_HOT if i == 0 else domain.LEAD_ASSIGNED
                title = (_("Lead became hot: %(lead)s") if kind == domain.LEAD_HOT
                         else _("New lead assigned: %(lead)s")) % {"lead": str(lead)}  # fmt: skip
                rows.append(
                    Notification(
                        user=user, kind=kind, title=title[: domain.MAX_TITLE], lead_id=lead.pk,
                        url=reverse("leads:detail", args=[lead.pk]), created_at=now - timedelta(minutes=7 * (i + 1)),
                        read_at=now - timedelta(minutes=5) if i == 2 else None,
                    )
                )  # fmt: skip
        Notification.objects.bulk_create(rows)
