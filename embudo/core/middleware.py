import ipaddress
import logging
import time
from collections.abc import Callable

from django.conf import settings
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


def client_address(forwarded_for: str, remote_addr: str, proxies: int) -> str:
    """The client's IP address behind ``proxies`` reverse proxies of our own.

    Each proxy appends the address it received the request from to ``X-Forwarded-For``, so with N proxies the
    client is the N-th address from the right; the ones further left were written by the client and prove
    nothing. With fewer addresses than proxies, or one that is no IP address, ``remote_addr`` is kept."""
    if proxies <= 0:
        return remote_addr
    hops = [part.strip() for part in forwarded_for.split(",")]
    if len(hops) < proxies or not forwarded_for.strip():
        return remote_addr
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


class TrustedProxyMiddleware:
    """``REMOTE_ADDR`` becomes the client's address when Embudo runs behind ``EMBUDO_TRUSTED_PROXIES`` reverse
    proxies (a TLS terminator, a load balancer). Without it every visitor had the proxy's address: the per-IP
    limits of forms and Web-to-Lead counted the whole site as one visitor (quarantining real leads once it had
    sent a few dozen in an hour), and consent records stored the proxy's address as the person's.

    Every reader of ``REMOTE_ADDR`` (intake channels, tracking, Django itself) gets the client's address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proxies = settings.TRUSTED_PROXIES
        if proxies:
            request.META["REMOTE_ADDR"] = client_address(
                request.META.get("HTTP_X_FORWARDED_FOR", ""), request.META.get("REMOTE_ADDR", ""), proxies
            )
        return self.get_response(request)
