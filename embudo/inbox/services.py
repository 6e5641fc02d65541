"""Writes of the inbox: snoozes, saved views, and the inbox's quick actions that hand over to their owners
(disqualify → ``scoring.lifecycle.set_stage``; reassign → ``routing.services.assign_manually``).

A rep acts from the inbox on their own leads only; a lead that is not theirs is "not found" (no leak).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from embudo.accounts.models import User
from embudo.core import clock
from embudo.inbox import selectors
from embudo.inbox.domain import snooze as snooze_domain
from embudo.inbox.exceptions import (
    InboxNotAllowed,
    InvalidReassign,
    InvalidSavedView,
    InvalidSnooze,
    SavedViewNotFound,
)
from embudo.inbox.models import SavedView, Snooze
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.models import Lead

MAX_SAVED_VIEWS = 20
_SNOOZE_MESSAGES = {
    "Give a date and time with a time zone.": gettext_lazy("Give a date and time with a time zone."),
    "Pick a time in the future.": gettext_lazy("Pick a time in the future."),
    "Snooze for at most a year.": gettext_lazy("Snooze for at most a year."),
}


def _own_lead(actor: User, lead_id: int) -> None:
    if not selectors.open_lead_owned_by(actor, lead_id):
        raise LeadNotFound(_("Lead not found."))


def snooze(*, actor: User, lead_id: int, until: datetime) -> Snooze:
    """Hide one of the actor's leads from their inbox until ``until`` (replaces an earlier snooze)."""
    _own_lead(actor, lead_id)
    now = clock.now()
    problem = snooze_domain.check_until(until, now)
    if problem is not None:
        message = str(_SNOOZE_MESSAGES.get(problem, problem))
        raise InvalidSnooze(message, fields={"until": [message]})
    obj, _created = Snooze.objects.update_or_create(
        user=actor, lead_id=lead_id, defaults={"until": until, "created_at": now}
    )
    return obj


def unsnooze(*, actor: User, lead_id: int) -> bool:
    """Show the lead again now. True when it was snoozed."""
    deleted, _detail = Snooze.objects.filter(user=actor, lead_id=lead_id).delete()
    return deleted > 0


def disqualify(*, actor: User, lead_id: int, reason: str, note: str = "") -> Lead:
    """Disqualify one of the actor's leads with a reason (``scoring.lifecycle.DISQUALIFY_REASONS``)."""
    from embudo.scoring import lifecycle

    _own_lead(actor, lead_id)
    return lifecycle.set_stage(lead_id=lead_id, stage="disqualified", actor=actor, reason=reason, note=note)


def reassign(*, actor: User, lead_id: int, user_id: int | None, reason: str) -> object:
    """From the team view: a manager (their teams' reps) or an admin gives the lead to ``user_id``."""
    from embudo.routing import services as routing

    if not selectors.can_see_team_view(actor):
        raise InboxNotAllowed(_("Only managers and admins reassign leads."))
    scope = selectors.team_scope(actor)
    if user_id is not None and scope is not None:
        allowed = {r.user_id for r in selectors.list_team_reps(scope)}
        if user_id not in allowed:
            message = _("Pick a rep of your teams.")
            raise InvalidReassign(message, fields={"user_id": [message]})
    return routing.assign_manually(lead_id=lead_id, user_id=user_id, actor=actor, reason=reason)


def save_view(*, actor: User, name: str, query: str) -> SavedView:
    """Save the current filters under a name (the same name replaces them)."""
    name = " ".join(name.split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the view a name.")]
    elif len(name) > 60:
        errors["name"] = [_("At most 60 characters.")]
    filters = selectors.InboxFilters.from_query(_parse_query(query))
    if errors:
        raise InvalidSavedView(_("Some fields are not valid."), fields=errors)
    with transaction.atomic():
        existing = SavedView.objects.select_for_update().filter(user=actor, name=name).first()
        if existing is not None:
            existing.query = filters.to_query()
            existing.save(update_fields=["query"])
            return existing
        views = SavedView.objects.filter(user=actor)
        if views.count() >= MAX_SAVED_VIEWS:
            message = _("At most %(n)d saved views.") % {"n": MAX_SAVED_VIEWS}
            raise InvalidSavedView(message, fields={"name": [message]})
        position = (views.aggregate(m=Max("position"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                return SavedView.objects.create(
                    user=actor, name=name, query=filters.to_query(), position=position, created_at=clock.now()
                )
        except IntegrityError as exc:  # a concurrent save of the same name
            message = _("A view with this name exists.")
            raise InvalidSavedView(message, fields={"name": [message]}) from exc


def delete_view(*, actor: User, view_id: int) -> None:
    deleted, _detail = SavedView.objects.filter(user=actor, pk=view_id).delete()
    if not deleted:
        raise SavedViewNotFound(_("Saved view not found."))


def _parse_query(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
