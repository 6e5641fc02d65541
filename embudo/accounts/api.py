from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer

from embudo.accounts import selectors, services
from embudo.accounts.models import User


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` against hashed, revocable API tokens."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.authenticate_token(token)
        if user is not None:
            request.user = user
        return user


router = Router(tags=["me"])


class TeamOut(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    role: str
    language: str
    teams: list[TeamOut]


@router.get("", response=MeOut, summary="The user behind the token")
def get_me(request: HttpRequest) -> MeOut:
    user: User = request.auth  # type: ignore[attr-defined]
    return MeOut(
        id=user.pk,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        language=user.language,
        teams=[TeamOut(id=t.pk, name=t.name) for t in selectors.list_teams().filter(members=user)],
    )
