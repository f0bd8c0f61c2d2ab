import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from console.models import AuditEntry
from core.commands import run_service
from tenants.services import tenant_rotate_secret


class Command(BaseCommand):
    help = (
        "Store a new AppSecret for a tenant once WeChat has accepted it (a token is fetched with it); the old one "
        "stays otherwise. (Admin and platform API: permission tenants.rotate_secret.)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument(
            "--secret-env", metavar="VAR", required=True, help="read the new AppSecret from this variable (not argv)"
        )

    def handle(self, *args: Any, app_id: str, secret_env: str, **options: Any) -> None:
        app_secret = os.environ.get(secret_env)
        if not app_secret:
            raise CommandError(f"environment variable {secret_env} is empty or not set")
        tenant = run_service(tenant_rotate_secret, app_id=app_id, app_secret=app_secret)
        command_audit(module=__name__, action=AuditEntry.Action.ROTATE_SECRET, app_id=tenant.app_id)
        self.stdout.write(f"{tenant.app_id}: AppSecret rotated")
