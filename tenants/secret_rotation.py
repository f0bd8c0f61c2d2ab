"""Re-encryption after a key rotation: every Fernet value at rest moved under the newest of TENANT_SECRETS_KEYS.

Two kinds of values: each tenant's AppSecret (the registry, control database) and the columns tenant apps
register with `register_encrypted_field` (in each tenant's own database; accounts: each user's session_key).
A value already under the newest key is left alone, so a re-run does nothing more; each write is a
compare-and-set on the value read, so a secret or session_key written meanwhile (under the newest key already)
is never overwritten with an older one.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.db.models import Model

from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.secrets import secret_is_current, secret_reencrypt
from tenants.selectors import tenant_context_for, tenant_list

BATCH = 500


@dataclass
class Tally:
    reencrypted: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)  # what no key reads: left as it is

    def add(self, other: "Tally") -> None:
        self.reencrypted += other.reencrypted
        self.current += other.current
        self.unreadable += other.unreadable

    def count(self, old: str, *, label: str) -> str | None:
        """The new value to write, or None when there is nothing to write."""
        if secret_is_current(old):
            self.current += 1
            return None
        try:
            new = secret_reencrypt(old)
        except InvalidToken:
            self.unreadable.append(label)
            return None
        self.reencrypted += 1
        return new


def app_secrets_reencrypt(*, dry_run: bool) -> Tally:
    tally = Tally()
    for tenant in tenant_list().exclude(app_secret_encrypted=""):
        new = tally.count(tenant.app_secret_encrypted, label=tenant.app_id)
        if new and not dry_run:
            Tenant.objects.filter(pk=tenant.pk, app_secret_encrypted=tenant.app_secret_encrypted).update(
                app_secret_encrypted=new
            )
    return tally


def tenants_with_databases() -> Iterator[Tenant]:
    # A tenant still provisioning may have no database yet, and has never served a user.
    yield from tenant_list().exclude(status=Tenant.Status.PROVISIONING)


@dataclass(frozen=True)
class EncryptedField:
    """A tenant app's column of Fernet values under TENANT_SECRETS_KEYS, in every tenant's database."""

    model: type[Model]
    field: str
    label: str  # in the command's lines ("session keys") and, with "_", its audit entry's details


_encrypted_fields: list[EncryptedField] = []


def register_encrypted_field(*, model: type[Model], field: str, label: str) -> None:
    """Called by a tenant app's AppConfig.ready(), so the registry re-encrypts its values without naming it."""
    entry = EncryptedField(model=model, field=field, label=label)
    if entry not in _encrypted_fields:
        _encrypted_fields.append(entry)


def encrypted_fields_registered() -> list[EncryptedField]:
    return list(_encrypted_fields)


def tenant_values_reencrypt(*, tenant: Tenant, encrypted: EncryptedField, dry_run: bool) -> Tally:
    """One registered column of one tenant, in its own database (the runtime user may UPDATE rows)."""
    model, column = encrypted.model, encrypted.field
    tally = Tally()
    with activate_tenant(tenant_context_for(tenant)):
        rows = model._default_manager.exclude(**{column: ""}).only("pk", column)
        for row in rows.iterator(chunk_size=BATCH):
            old = getattr(row, column)
            new = tally.count(old, label=f"{tenant.app_id} {model._meta.verbose_name} {row.pk}")
            if new and not dry_run:
                model._default_manager.filter(pk=row.pk, **{column: old}).update(**{column: new})
    return tally


_control_fields: list[EncryptedField] = []


def register_encrypted_control_field(*, model: type[Model], field: str, label: str) -> None:
    """Like register_encrypted_field, for a column of the control database (one table, this environment's rows)."""
    entry = EncryptedField(model=model, field=field, label=label)
    if entry not in _control_fields:
        _control_fields.append(entry)


def encrypted_control_fields_registered() -> list[EncryptedField]:
    return list(_control_fields)


def control_values_reencrypt(*, encrypted: EncryptedField, dry_run: bool) -> Tally:
    """One registered control-database column, compare-and-set per row as for the tenants' columns."""
    model, column = encrypted.model, encrypted.field
    tally = Tally()
    rows = model._default_manager.exclude(**{column: ""}).only("pk", column)
    for row in rows.iterator(chunk_size=BATCH):
        old = getattr(row, column)
        new = tally.count(old, label=f"{model._meta.verbose_name} {row.pk}")
        if new and not dry_run:
            model._default_manager.filter(pk=row.pk, **{column: old}).update(**{column: new})
    return tally
