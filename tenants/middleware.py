"""TenantMiddleware: X-AppID -> the active tenant for exactly this request."""

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from core import metrics
from core.client_address import client_address
from core.exceptions import REDIS_UNREACHABLE, ApplicationError, ServiceUnavailable
from core.responses import error_response
from core.tenant_context import reset_current_tenant, set_current_tenant
from core.throttling import TenantRateThrottle
from tenants.activity import tenant_touch
from tenants.cache import Loaded
from tenants.moving.exceptions import TenantMoving
from tenants.moving.selectors import tenant_move_frozen
from tenants.selectors import tenant_resolve

# Methods that only read: served from the old copy during a move's freeze (consistent: nothing can write it).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _is_exempt(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix) for prefix in settings.TENANT_EXEMPT_PATHS)


class UnknownAppIdsThrottled(ApplicationError):
    code = "throttled"
    message = "Too many requests for unknown AppIDs from this address; retry later."
    status = 429

    def __init__(self, wait: float) -> None:
        super().__init__()
        self.wait = wait

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.wait) + 1)}


class UnknownAppIdThrottle(TenantRateThrottle):
    """The anonymous rate (API_THROTTLE_RATE_ANON), per client address, for AppIDs no cache knows.

    Every well-formed AppID that neither the local copies nor Redis can answer costs a control-database
    query; a client making up AppIDs would make each one cost that. Such a lookup is counted before the
    query and given back when the AppID proves known, so only unknown AppIDs use up the budget, and a client
    over it is refused (429) without a query. Counted outside any tenant: the key is the address alone.
    """

    scope = "anon"

    def guarded_load(self, request: HttpRequest, load: Callable[[], Loaded]) -> Loaded:
        if self.rate is None:
            return load()
        if not self.allow_key(f"throttle_unknown_app_id_{client_address(request)}"):
            raise UnknownAppIdsThrottled(self.wait())
        loaded = load()
        if loaded[0] is not None:
            self._give_back()
        return loaded

    def _give_back(self) -> None:
        if getattr(self, "current", None) is None:
            return  # nothing was counted (Redis did not answer; the throttle let the lookup through)
        try:
            self.cache.decr(f"{self.key}:{int(self.now // self.duration)}")
        except (ValueError, TypeError) + REDIS_UNREACHABLE:
            # The count stays: a little less budget for this address, never an error for the request.
            metrics.redis_fallback("unknown_app_id_throttle")


def unknown_app_id_guard(request: HttpRequest) -> Callable[[Callable[[], Loaded]], Loaded]:
    # The throttle is made only for a lookup that reaches the database: the request path pays nothing else.
    # Also the guard of the paths that name their tenant themselves (WeChat Pay's notifications).
    return lambda load: UnknownAppIdThrottle().guarded_load(request, load)


class TenantMiddleware:
    """Resolves the tenant before any view runs; a bad AppID is answered here, touching no tenant database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_exempt(request.path_info):
            return self.get_response(request)
        try:
            tenant = tenant_resolve(
                app_id=request.headers.get(settings.TENANT_HEADER), guard=unknown_app_id_guard(request)
            )
            if request.method not in READ_METHODS and tenant_move_frozen(app_id=tenant.app_id):
                raise TenantMoving()
        except ApplicationError as error:
            metrics.tenant_refused(error.code)
            return error_response(error)
        except (OperationalError, InterfaceError):
            return error_response(ServiceUnavailable("The tenant registry is unreachable; retry shortly."))
        # Our own attribute, for the log filter (django.request logs after the context is reset); django-stubs'
        # HttpRequest declares Django's attributes only.
        request.tenant = tenant  # type: ignore[attr-defined]
        tenant_touch(app_id=tenant.app_id)
        # Set and reset here, in one frame: the tenant never outlives the request or leaks to the next one
        # served by this thread or greenlet.
        token = set_current_tenant(tenant)
        try:
            return self.get_response(request)
        finally:
            reset_current_tenant(token)
