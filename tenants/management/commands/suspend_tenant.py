from console.models import AuditEntry
from tenants.management.commands._base import TenantStatusCommand
from tenants.services import tenant_suspend


class Command(TenantStatusCommand):
    help = (
        "Suspend a tenant: its requests get 403 tenant_suspended in every process within the cache bound. "
        "(Admin and platform API: permission tenants.suspend_tenant.)"
    )
    service = staticmethod(tenant_suspend)
    action = AuditEntry.Action.SUSPEND
