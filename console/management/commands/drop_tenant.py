from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from console.models import AuditEntry
from core.commands import run_service
from tenants.services import tenant_drop


class Command(BaseCommand):
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
        run_service(tenant_drop, app_id=app_id)
        command_audit(module=__name__, action=AuditEntry.Action.RETIRE, app_id=app_id)
        self.stdout.write(f"{app_id}: dropped")
