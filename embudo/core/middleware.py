import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("embudo.request")


class RequestLogMiddleware:
    """One structured log line per request: method, path, status, duration. No query strings (PII)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        response["Server-Timing"] = f"app;dur={duration_ms:.1f}"
        return response


class ApiMethodNotAllowedMiddleware:
    """Answer a wrong HTTP method under /api/ in the API's JSON error format, not the plain-text 405
    that the URL resolver gives (clients parse one error shape everywhere)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        allowed = response.get("Allow", "")
        message = f"{request.method} is not allowed here." + (f" Use {allowed}." if allowed else "")
        json_response = JsonResponse({"code": "method_not_allowed", "message": message, "fields": {}}, status=405)
        if allowed:
            json_response["Allow"] = allowed
        return json_response
