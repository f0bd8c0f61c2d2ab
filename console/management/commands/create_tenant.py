import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import tenant_provision_audited


class Command(BaseCommand):
    help = (
        "Register a mini-program, create its utf8mb4 database and migrate it. Safe to re-run. "
        "(Admin and platform API: onboard, permission tenants.add_tenant.)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--name", required=True, help="display name (emoji allowed)")
        parser.add_argument(
            "--secret-env", metavar="VAR", help="read the AppSecret from this environment variable (not argv)"
        )
        parser.add_argument("--server", help="tenant database server (default: TENANT_DB_DEFAULT_SERVER)")

    def handle(
        self, *args: Any, app_id: str, name: str, secret_env: str | None, server: str | None, **options: Any
    ) -> None:
        app_secret = None
        if secret_env:
            app_secret = os.environ.get(secret_env)
            if not app_secret:
                raise CommandError(f"environment variable {secret_env} is empty or not set")
        tenant = tenant_provision_audited(
            module=__name__, app_id=app_id, name=name, server=server, app_secret=app_secret
        )
        self.stdout.write(f"{tenant.app_id}: {tenant.status} on {tenant.db_server}/{tenant.db_name}")
