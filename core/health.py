"""Health endpoints: /healthz says the process is alive, /readyz that its dependencies answer."""

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse

from core.exceptions import REDIS_UNREACHABLE, error_body

RELEASE_HEADER = "X-Release"


def healthz(request: HttpRequest) -> JsonResponse:
    """Touches nothing: a dead database must not make the load balancer kill healthy processes.

    The X-Release header names the release this process runs, so a deploy can tell when the new code serves.
    """
    response = JsonResponse({"status": "ok"})
    response[RELEASE_HEADER] = settings.MINIPLEX_RELEASE
    return response


def _control_database_answers() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _redis_answers() -> bool:
    try:
        caches["platform"].get("readyz")
        return True
    except REDIS_UNREACHABLE:
        return False


def readyz(request: HttpRequest) -> JsonResponse:
    """Checks the control database and Redis; names each one that is down."""
    down = [
        name for name, answers in (("database", _control_database_answers), ("redis", _redis_answers)) if not answers()
    ]
    if not down:
        return JsonResponse({"status": "ok"})
    body = error_body("service_unavailable", f"Not ready: {', '.join(down)} unreachable.", down=down)
    response = JsonResponse(body, status=503)
    response["Retry-After"] = "5"
    return response
