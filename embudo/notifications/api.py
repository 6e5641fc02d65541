"""JSON API at /api/v1/notifications: the token owner's notifications and preferences."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema

from embudo.accounts.models import User
from embudo.core.exceptions import InvalidInput
from embudo.leads.schemas import ErrorOut
from embudo.notifications import domain, selectors, services

router = Router(tags=["notifications"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    lead_id: int | None
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    unread: int
    next_offset: int | None


class PageQuery(Schema):
    offset: int = 0
    limit: int = 50


class ReadAllOut(Schema):
    marked: int


class PreferenceOut(Schema):
    kind: str
    in_app: bool
    email: bool


class PreferenceIn(Schema):
    kind: str
    in_app: bool
    email: bool


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


@router.get("", response={200: NotificationPageOut, **ERRORS}, summary="Your notifications, unread first")
def list_notifications(request: HttpRequest, query: Query[PageQuery]) -> NotificationPageOut:
    if not 1 <= query.limit <= 200 or query.offset < 0:
        raise InvalidInput("Invalid page.", fields={"limit": ["Between 1 and 200."], "offset": ["0 or more."]})
    user = _user(request)
    rows = selectors.list_notifications(user.pk, offset=query.offset, limit=query.limit + 1)
    return NotificationPageOut(
        items=[NotificationOut.from_orm(n) for n in rows[: query.limit]],
        unread=selectors.count_unread(user.pk),
        next_offset=query.offset + query.limit if len(rows) > query.limit else None,
    )


@router.post("/read-all", response={200: ReadAllOut, **ERRORS}, summary="Mark all your notifications read")
def read_all(request: HttpRequest) -> ReadAllOut:
    return ReadAllOut(marked=services.mark_all_read(user=_user(request)))


@router.post("/{int:notification_id}/read", response={200: NotificationOut, **ERRORS}, summary="Mark one read")
def read_one(request: HttpRequest, notification_id: int) -> NotificationOut:
    return NotificationOut.from_orm(services.mark_read(user=_user(request), notification_id=notification_id))


@router.get("/preferences", response={200: list[PreferenceOut], **ERRORS}, summary="Your channels per kind")
def get_preferences(request: HttpRequest) -> list[PreferenceOut]:
    rows = selectors.list_preferences(_user(request).pk)
    return [PreferenceOut(kind=r.kind, in_app=r.in_app, email=r.email) for r in rows]


@router.put("/preferences", response={200: list[PreferenceOut], **ERRORS}, summary="Set your channels per kind")
def put_preferences(request: HttpRequest, payload: list[PreferenceIn]) -> list[PreferenceOut]:
    """Kinds you leave out keep their current setting."""
    user = _user(request)
    services.set_preferences(
        user=user, preferences={p.kind: domain.Channels(in_app=p.in_app, email=p.email) for p in payload}
    )
    return get_preferences(request)
