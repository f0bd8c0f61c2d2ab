"""Cache keys that carry their tenant, so one tenant's cached value is never read by another."""

from core.tenant_context import get_current_tenant

PLATFORM_SCOPE = "_platform"


def make_tenant_key(key: str, key_prefix: str, version: int) -> str:
    """Django KEY_FUNCTION: `<prefix>:<version>:<app_id>:<key>`, or the platform scope with no tenant."""
    tenant = get_current_tenant()
    scope = tenant.app_id if tenant is not None else PLATFORM_SCOPE
    return f"{key_prefix}:{version}:{scope}:{key}"
