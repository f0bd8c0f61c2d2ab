"""Re-encryption after a key rotation: every Fernet value at rest moved under the newest of TENANT_SECRETS_KEYS.

Two kinds of values: each tenant's AppSecret (the registry, control database) and each user's session_key (in
the tenant's own database). A value already under the newest key is left alone, so a re-run does nothing more;
each write is a compare-and-set on the value read, so a secret or session_key written meanwhile (under the
newest key already) is never overwritten with an older one.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken

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


def session_keys_reencrypt(*, tenant: Tenant, dry_run: bool) -> Tally:
    """The users' session_keys of one tenant, in its own database (the runtime user may UPDATE rows)."""
    from accounts.models import MiniProgramUser

    tally = Tally()
    with activate_tenant(tenant_context_for(tenant)):
        users = MiniProgramUser.objects.exclude(session_key_encrypted="").only("id", "session_key_encrypted")
        for user in users.iterator(chunk_size=BATCH):
            new = tally.count(user.session_key_encrypted, label=f"{tenant.app_id} user {user.pk}")
            if new and not dry_run:
                MiniProgramUser.objects.filter(pk=user.pk, session_key_encrypted=user.session_key_encrypted).update(
                    session_key_encrypted=new
                )
    return tally
