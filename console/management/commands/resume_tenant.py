from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from console.commands import command_audit
from console.models import AuditEntry
from core.commands import run_service
from tenants.services import tenant_resume


class Command(BaseCommand):
    help = "Resume a suspended tenant. (Admin and platform API: permission tenants.suspend_tenant.)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")

    def handle(self, *args: Any, app_id: str, **options: Any) -> None:
        tenant = run_service(tenant_resume, app_id=app_id)
        command_audit(module=__name__, action=AuditEntry.Action.RESUME, app_id=tenant.app_id)
        self.stdout.write(f"{tenant.app_id}: {tenant.status}")
