"""The JSON API (django-ninja) at /api/v1/: one router per context, one error format.

Every error body is ``{"code": str, "message": str, "fields": {field: [messages]}}``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from embudo.accounts.api import BearerToken
from embudo.accounts.api import router as accounts_router
from embudo.capture import api as capture_api  # noqa: F401 - adds POST /leads and /leads/batch to the leads router
from embudo.core.exceptions import DomainError
from embudo.dedupe.api import router as dedupe_router
from embudo.followups.api import router as followups_router
from embudo.inbox.api import router as inbox_router
from embudo.interactions.api import router as interactions_router
from embudo.leads.api import router as leads_router
from embudo.notifications.api import router as notifications_router
from embudo.pipeline.api import router as pipeline_router
from embudo.predictive.api import router as predictive_router
from embudo.routing.api import router as routing_router
from embudo.scoring.api import router as scoring_router
from embudo.scoring.api_lifecycle import router as scoring_lifecycle_router
from embudo.sla.api import router as sla_router
from embudo.tracking.api import router as tracking_router

api = NinjaAPI(
    title="Embudo API",
    version="1",
    description="Capture, score, route and follow up leads. Authenticate with `Authorization: Bearer <token>` "
    "(create one with `embudo token create --user EMAIL --name NAME`).",
    urls_namespace="api",
    auth=BearerToken(),
)
api.add_router("/leads", leads_router)
api.add_router("/me", accounts_router)
api.add_router("/", dedupe_router)
api.add_router("/", scoring_router)  # /scoring/…, /leads/{id}/score
api.add_router("/", scoring_lifecycle_router)  # POST /leads/{id}/lifecycle, PUT /leads/{id}/bant
api.add_router("/", tracking_router)  # /events
api.add_router("/", routing_router)  # /routing/…, /leads/{id}/assignment, /speed-to-lead
api.add_router("/notifications", notifications_router)
api.add_router("/", sla_router)  # /sla/…, /speed-to-lead
api.add_router("/", predictive_router)  # /scoring/predictive/…
api.add_router("/", interactions_router)  # /leads/{id}/interactions, /interactions/…
api.add_router("/", pipeline_router)  # /pipeline/…, /leads/{id}/deal
api.add_router("/", followups_router)  # /tasks/…, /leads/{id}/tasks
api.add_router("/", inbox_router)  # /inbox/…


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


def _field_name(loc: list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "header")]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        message = str(error.get("msg", "Invalid value."))
        if error.get("type") == "extra_forbidden":
            message = "Unknown field."
        fields.setdefault(_field_name(list(error.get("loc", []))), []).append(message)
    return error_response(request, 422, "validation_error", "Some fields are not valid.", fields)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    body_fields = exc.fields
    response = error_response(request, exc.status, exc.code, exc.message, body_fields)
    return response


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(request, 401, "unauthorized", "Send a valid token: Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = 'Bearer realm="embudo"'
    return response


@api.exception_handler(AuthorizationError)
def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(request, 403, "permission_denied", "You are not allowed to do this.")


@api.exception_handler(RequestDataTooBig)
def on_request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE: a JSON 413 like every API error, not Django's 400 page
    (``POST /leads/batch`` takes up to 20 MB, see ``capture.api``)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return error_response(request, 413, "request_too_large", "The request body is too large.",
                          {"body": [f"At most {limit:,} bytes."]})  # fmt: skip


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
        return error_response(
            request, 422, "malformed_json", "The request body is not valid JSON.", {"body": [str(exc.__cause__)]}
        )
    return error_response(request, exc.status_code, "http_error", exc.message)


def unknown_endpoint(request: HttpRequest, path: str = "") -> HttpResponse:
    """JSON 404 for any path under /api/v1/ that no router handles (not the HTML page)."""
    del path
    return error_response(request, 404, "not_found", "No such API endpoint.")
