"""HttpMetricsMiddleware: every answer counted by tenant and status class, and by route, and timed by route."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core import metrics

UNMATCHED = "unmatched"


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (namespaced), else its pattern; never the raw path, which a client chooses."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED  # refused before URL resolution (a bad AppID, a body too large) or no such path
    return match.view_name or match.route or UNMATCHED


def tenant_of(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    return getattr(tenant, "app_id", None)


class HttpMetricsMiddleware:
    """Outermost but the request id: it sees the tenant middleware's refusals and the JSON error answers too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        metrics.http_request_observed(
            tenant=tenant_of(request), route=route_of(request), status=response.status_code, seconds=seconds
        )
        return response
