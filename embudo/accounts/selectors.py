"""Reads of the accounts context."""

from __future__ import annotations

from django.db.models import QuerySet

from embudo.accounts.models import ApiToken, Team, User


def team_ids_of(user: User) -> list[int]:
    cached = getattr(user, "_team_ids_cache", None)
    if cached is None:
        cached = list(user.teams.values_list("id", flat=True))
        user._team_ids_cache = cached  # type: ignore[attr-defined]
    return cached


def list_teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def list_users_visible_to(user: User) -> QuerySet[User]:
    """Users a person may pick as owner: everyone for admin/marketing, team mates otherwise."""
    users = User.objects.filter(is_active=True)
    if user.role in ("admin", "marketing"):
        return users.order_by("full_name")
    return users.filter(teams__in=team_ids_of(user)).distinct().order_by("full_name")


def list_api_tokens(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def get_user_by_email(email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


def team_default_country(team_id: int | None) -> str:
    """The team's default country (ISO code; "" without a team or a country)."""
    if team_id is None:
        return ""
    return Team.objects.filter(pk=team_id).values_list("default_country", flat=True).first() or ""


def team_exists(team_id: int) -> bool:
    return Team.objects.filter(pk=team_id).exists()


def active_user_exists(user_id: int) -> bool:
    return User.objects.filter(pk=user_id, is_active=True).exists()
