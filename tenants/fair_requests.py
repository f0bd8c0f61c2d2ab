"""Fair requests: a bound on one tenant's requests in progress per web worker, and the per-day usage counts.

TenantConcurrencyMiddleware runs right after tenants.middleware.TenantMiddleware. A tenant with
TENANT_MAX_CONCURRENT_PER_WORKER requests in progress in this process has its next one refused at once with 429
`tenant_busy` and Retry-After (docs/fairness.md says why refusing beats waiting): one tenant's flood or slow
endpoint cannot take every greenlet of a worker, nor every connection of its database pool, from the others.
Every tenant request is counted in the tenant's usage of the day (requests; errors for 5xx answers; busy for
these refusals) by core.usage, in memory, written to Redis about once a second.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.concurrency import TenantSlots
from core.exceptions import ApplicationError
from core.responses import error_response
from core.usage import usage_add

# This process's requests in progress per tenant (read by the metrics: `tenant_slots.snapshot()`).
tenant_slots = TenantSlots()


class TenantBusy(ApplicationError):
    code = "tenant_busy"
    message = "This mini-program has too many requests in progress; retry shortly."
    status = 429

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(settings.TENANT_BUSY_RETRY_AFTER_SECONDS)}


class TenantConcurrencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)  # set by TenantMiddleware; absent on its exempt paths
        if tenant is None:
            return self.get_response(request)
        app_id, bound = tenant.app_id, int(settings.TENANT_MAX_CONCURRENT_PER_WORKER)
        usage_add(app_id=app_id, kind="requests")
        if bound > 0 and not tenant_slots.take(app_id, bound):
            usage_add(app_id=app_id, kind="busy")
            return error_response(TenantBusy())
        try:
            response = self.get_response(request)
        finally:
            if bound > 0:
                tenant_slots.give_back(app_id)
        if response.status_code >= 500:
            usage_add(app_id=app_id, kind="errors")
        return response
