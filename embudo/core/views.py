from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from embudo.core import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and a job worker sent a heartbeat recently; 503 otherwise."""
    health = selectors.get_health()
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    worker_ok = health.worker_heartbeat_age_s is not None and health.worker_heartbeat_age_s <= max_age
    ok = health.database_ok and worker_ok
    body = {
        "status": "ok" if ok else "unhealthy",
        "database": "ok" if health.database_ok else f"error: {health.database_error}",
        "worker": {
            "status": "ok" if worker_ok else "stale" if health.workers else "missing",
            "heartbeat_age_seconds": health.worker_heartbeat_age_s,
            "count": health.workers,
            "max_age_seconds": max_age,
        },
    }
    return JsonResponse(body, status=200 if ok else 503)
