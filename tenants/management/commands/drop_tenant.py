from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from console.models import AuditEntry
from tenants.management.commands._base import TenantCommand
from tenants.services import tenant_drop


class Command(TenantCommand):
    help = (
        "Drop a tenant: its database, its registry row, its cached entries and its jobs. Needs --yes. "
        "(Admin and platform API: retire, permission tenants.retire_tenant.)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--yes", action="store_true", help="confirm: the tenant's data is deleted for good")

    def handle(self, *args: Any, app_id: str, yes: bool, **options: Any) -> None:
        if not yes:
            raise CommandError(f"dropping {app_id} deletes its database for good; add --yes to confirm")
        self.run_service(tenant_drop, app_id=app_id)
        self.audit(AuditEntry.Action.RETIRE, app_id)
        self.stdout.write(f"{app_id}: dropped")
