from argparse import ArgumentParser
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.schema import tenant_schema_migrate
from tenants.selectors import tenant_list


def _migrate_one(tenant: Tenant) -> tuple[bool, str]:
    """(ok, line) for one tenant; a failure is reported, not raised, so the others still run."""
    try:
        applied = tenant_schema_migrate(tenant=tenant)
    except Exception as error:  # noqa: BLE001 - any failure of one tenant must not stop the others
        return False, f"{tenant.app_id}: FAILED {type(error).__name__}: {error}"
    if not applied:
        return True, f"{tenant.app_id}: up to date"
    return True, f"{tenant.app_id}: applied {len(applied)} ({', '.join(applied)})"


class Command(BaseCommand):
    help = "Migrate the databases of all tenants, or of the named ones; exits non-zero if any failed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_ids", nargs="*", metavar="APP_ID")
        parser.add_argument("--parallel", type=int, default=1, metavar="N", help="tenants migrated at once")

    def handle(self, *args: Any, app_ids: list[str], parallel: int, **options: Any) -> None:
        if parallel < 1:
            raise CommandError("--parallel must be at least 1")
        tenants = list(tenant_list(app_ids=app_ids))
        missing = set(app_ids) - {tenant.app_id for tenant in tenants}
        if missing:
            raise CommandError(f"no such tenant: {', '.join(sorted(missing))}")
        failures = 0
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for ok, line in pool.map(_migrate_one, tenants):
                failures += not ok
                self.stdout.write(line)
        if failures:
            raise CommandError(f"{failures} of {len(tenants)} tenant(s) failed to migrate")
        self.stdout.write(f"{len(tenants)} tenant(s) migrated")
