"""TenantMiddleware: X-AppID -> the active tenant for exactly this request."""

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from core.exceptions import ApplicationError, ServiceUnavailable
from core.responses import error_response
from core.tenant_context import reset_current_tenant, set_current_tenant
from tenants.activity import tenant_touch
from tenants.selectors import tenant_resolve


def _is_exempt(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix) for prefix in settings.TENANT_EXEMPT_PATHS)


class TenantMiddleware:
    """Resolves the tenant before any view runs; a bad AppID is answered here, touching no tenant database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_exempt(request.path_info):
            return self.get_response(request)
        try:
            tenant = tenant_resolve(app_id=request.headers.get(settings.TENANT_HEADER))
        except ApplicationError as error:
            return error_response(error)
        except (OperationalError, InterfaceError):
            return error_response(ServiceUnavailable("The tenant registry is unreachable; retry shortly."))
        request.tenant = tenant
        tenant_touch(app_id=tenant.app_id)
        # Set and reset here, in one frame: the tenant never outlives the request or leaks to the next one
        # served by this thread or greenlet.
        token = set_current_tenant(tenant)
        try:
            return self.get_response(request)
        finally:
            reset_current_tenant(token)
