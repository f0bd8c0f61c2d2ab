import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from tenants.selectors import tenant_list

FIELDS = ["app_id", "name", "status", "db_server", "db_name", "created_at"]


class Command(BaseCommand):
    help = "List the registered tenants (never their AppSecrets). (Admin and platform API: tenants.view_tenant.)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")

    def handle(self, *args: Any, json: bool, **options: Any) -> None:
        rows = [{field: str(getattr(tenant, field)) for field in FIELDS} for tenant in tenant_list()]
        if json:
            self.stdout.write(_dumps(rows))
            return
        for row in rows:
            self.stdout.write(
                f"{row['app_id']}  {row['status']:<12}  {row['db_server']}/{row['db_name']}  {row['name']}"
            )
        self.stdout.write(f"{len(rows)} tenant(s)")


def _dumps(rows: list[dict[str, str]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
