from console.models import AuditEntry
from tenants.management.commands._base import TenantStatusCommand
from tenants.services import tenant_resume


class Command(TenantStatusCommand):
    help = "Resume a suspended tenant. (Admin and platform API: permission tenants.suspend_tenant.)"
    service = staticmethod(tenant_resume)
    action = AuditEntry.Action.RESUME
