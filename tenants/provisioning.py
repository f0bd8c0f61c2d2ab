"""The platform job that creates and migrates a registered tenant's database."""

from tenants.selectors import tenant_get
from tenants.services import tenant_provision


def provision_tenant_job(*, app_id: str) -> dict[str, str]:
    """Runs tenant_provision for a row that tenant_onboard registered; safe to retry (it completes the work)."""
    tenant = tenant_get(app_id=app_id)
    tenant = tenant_provision(app_id=tenant.app_id, name=tenant.name, server=tenant.db_server)
    return {"app_id": tenant.app_id, "status": tenant.status}
