from tenants.management.commands._base import TenantStatusCommand
from tenants.services import tenant_resume


class Command(TenantStatusCommand):
    help = "Resume a suspended tenant."
    service = staticmethod(tenant_resume)
