"""What check-in's tests share: a logged-in client and the tenant's context."""

from api.tests.conftest import TenantClient
from core.tenant_context import TenantContext
from tenants.models import Tenant
from tenants.selectors import tenant_context_for


def context_of(app_id: str) -> TenantContext:
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


def logged_in(app_id: str, code: str = "code-alice") -> TenantClient:
    client = TenantClient(app_id)
    assert client.login(code).status_code == 200
    return client
