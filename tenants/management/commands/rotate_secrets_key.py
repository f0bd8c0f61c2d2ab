from argparse import ArgumentParser
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import CommandError

from console.models import AuditEntry
from tenants.management.commands._base import TenantCommand
from tenants.models import Tenant
from tenants.secrets import secret_is_current, secret_reencrypt
from tenants.selectors import tenant_list


@dataclass
class Tally:
    reencrypted: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)


class Command(TenantCommand):
    help = (
        "After a key rotation (the new key first in TENANT_SECRETS_KEYS, the old ones kept for reading), "
        "re-encrypt every AppSecret under the new key. Idempotent: a value already under it is left alone. "
        "Then the old keys can be removed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be re-encrypted, change nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        tally = Tally()
        for tenant in tenant_list().exclude(app_secret_encrypted=""):
            self._app_secret(tenant, tally, dry_run=dry_run)
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(f"AppSecrets: {tally.reencrypted} {verb}, {tally.current} under the newest key already")
        if not dry_run:
            self.audit(AuditEntry.Action.REENCRYPT_SECRETS, "", app_secrets=tally.reencrypted)
        if tally.unreadable:
            raise CommandError(
                f"no key in TENANT_SECRETS_KEYS reads the AppSecret of {', '.join(tally.unreadable)}: left as it is"
            )

    def _app_secret(self, tenant: Tenant, tally: Tally, *, dry_run: bool) -> None:
        old = tenant.app_secret_encrypted
        if secret_is_current(old):
            tally.current += 1
            return
        try:
            new = secret_reencrypt(old)
        except InvalidToken:
            tally.unreadable.append(tenant.app_id)
            return
        tally.reencrypted += 1
        if not dry_run:
            # Only if it is still the value read: a secret rotated meanwhile is new, and under the newest key.
            Tenant.objects.filter(pk=tenant.pk, app_secret_encrypted=old).update(app_secret_encrypted=new)
