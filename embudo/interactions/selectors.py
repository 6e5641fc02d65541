"""Reads of the interactions context. Every read is scoped through ``leads.selectors.leads_visible_to``."""

from __future__ import annotations

from django.db.models import QuerySet

from embudo.accounts.models import User
from embudo.core.pagination import Page, seek
from embudo.interactions.models import Interaction
from embudo.leads import selectors as leads_selectors


def interactions_of_lead(lead_id: int) -> QuerySet[Interaction]:
    """A lead's interactions (the caller checked the lead is visible), newest first, with who logged them."""
    return Interaction.objects.filter(lead_id=lead_id).select_related("actor").order_by("-occurred_at", "-id")


def list_recent(lead_id: int, *, limit: int = 5) -> list[Interaction]:
    """The last few interactions for the lead page panel (one query, served by interaction_lead_occurred_idx)."""
    return list(interactions_of_lead(lead_id)[:limit])


def list_interactions(lead_id: int, *, kind: str = "", cursor: str | None = None, limit: int = 50) -> Page[Interaction]:
    """One keyset page of the lead's interactions, newest first. Raises ValueError for a bad cursor."""
    interactions = Interaction.objects.filter(lead_id=lead_id).select_related("actor")
    if kind:
        interactions = interactions.filter(kind=kind)
    return seek(interactions, key="occurred_at", descending=True, cursor=cursor, limit=limit)


def get_interaction_visible_to(user: User, interaction_id: int) -> Interaction | None:
    return (
        Interaction.objects.filter(pk=interaction_id, lead__in=leads_selectors.leads_visible_to(user))
        .select_related("actor")
        .first()
    )
