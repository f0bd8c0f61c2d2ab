from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from console.models import AuditEntry
from tenants.secret_rotation import (
    Tally,
    app_secrets_reencrypt,
    control_values_reencrypt,
    encrypted_control_fields_registered,
    encrypted_fields_registered,
    tenant_values_reencrypt,
    tenants_with_databases,
)


class Command(BaseCommand):
    help = (
        "After a key rotation (the new key first in TENANT_SECRETS_KEYS, the old ones kept for reading), "
        "re-encrypt every AppSecret, the open platform's ticket and tokens, and every user's session_key "
        "(the columns tenant apps register, in each tenant's database) under the new key. "
        "Idempotent: a value already under it is left alone. Then the old keys can be removed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be re-encrypted, change nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        self.verb = "would be re-encrypted" if dry_run else "re-encrypted"
        secrets = app_secrets_reencrypt(dry_run=dry_run)
        self._line("AppSecrets", secrets)
        # Other control-database columns (the open platform's ticket and tokens), registered by their apps.
        control = {
            encrypted.label: control_values_reencrypt(encrypted=encrypted, dry_run=dry_run)
            for encrypted in encrypted_control_fields_registered()
        }
        for label, tally in control.items():
            self._line(label, tally)
        fields = encrypted_fields_registered()
        totals, failed = {encrypted.label: Tally() for encrypted in fields}, []
        for tenant in tenants_with_databases():
            try:
                tallies = [
                    (encrypted.label, tenant_values_reencrypt(tenant=tenant, encrypted=encrypted, dry_run=dry_run))
                    for encrypted in fields
                ]
            except Exception as error:  # noqa: BLE001 - one unreachable tenant must not stop the others
                failed.append(f"{tenant.app_id} ({type(error).__name__}: {error})")
                continue
            for label, tally in tallies:
                self._line(f"{tenant.app_id}: {label}", tally)
                totals[label].add(tally)
        for label, tally in totals.items():
            self._line(f"{label}, every tenant", tally)
        if not dry_run:
            counts = {label.replace(" ", "_"): tally.reencrypted for label, tally in {**control, **totals}.items()}
            command_audit(
                module=__name__,
                action=AuditEntry.Action.REENCRYPT_SECRETS,
                app_id="",
                app_secrets=secrets.reencrypted,
                **counts,
            )
        unreadable = secrets.unreadable + [
            label for tally in [*control.values(), *totals.values()] for label in tally.unreadable
        ]
        problems = [f"no key in TENANT_SECRETS_KEYS reads {', '.join(unreadable)}"] if unreadable else []
        problems += [f"failed: {', '.join(failed)}"] if failed else []
        if problems:
            raise CommandError("; ".join(problems) + " (left as they are; the rest is done)")

    def _line(self, what: str, tally: Tally) -> None:
        self.stdout.write(f"{what}: {tally.reencrypted} {self.verb}, {tally.current} under the newest key already")
