from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from console.models import AuditEntry
from tenants.management.commands._base import TenantCommand
from tenants.secret_rotation import Tally, app_secrets_reencrypt, session_keys_reencrypt, tenants_with_databases


class Command(TenantCommand):
    help = (
        "After a key rotation (the new key first in TENANT_SECRETS_KEYS, the old ones kept for reading), "
        "re-encrypt every AppSecret and every user's session_key (in each tenant's database) under the new key. "
        "Idempotent: a value already under it is left alone. Then the old keys can be removed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be re-encrypted, change nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        self.verb = "would be re-encrypted" if dry_run else "re-encrypted"
        secrets = app_secrets_reencrypt(dry_run=dry_run)
        self._line("AppSecrets", secrets)
        keys, failed = Tally(), []
        for tenant in tenants_with_databases():
            try:
                tally = session_keys_reencrypt(tenant=tenant, dry_run=dry_run)
            except Exception as error:  # noqa: BLE001 - one unreachable tenant must not stop the others
                failed.append(f"{tenant.app_id} ({type(error).__name__}: {error})")
                continue
            self._line(f"{tenant.app_id}: session keys", tally)
            keys.add(tally)
        self._line("session keys, every tenant", keys)
        if not dry_run:
            self.audit(
                AuditEntry.Action.REENCRYPT_SECRETS, "", app_secrets=secrets.reencrypted, session_keys=keys.reencrypted
            )
        unreadable = secrets.unreadable + keys.unreadable
        problems = [f"no key in TENANT_SECRETS_KEYS reads {', '.join(unreadable)}"] if unreadable else []
        problems += [f"failed: {', '.join(failed)}"] if failed else []
        if problems:
            raise CommandError("; ".join(problems) + " (left as they are; the rest is done)")

    def _line(self, what: str, tally: Tally) -> None:
        self.stdout.write(f"{what}: {tally.reencrypted} {self.verb}, {tally.current} under the newest key already")
