"""What every tenant-server backend shares: which tenant the connection may serve, and when it may switch."""

from typing import Any

from core.tenant_context import DB_NAME_PATTERN, TenantContext, require_current_tenant


class TenantSwitchInTransaction(RuntimeError):
    """The active tenant changed while a transaction was open on this connection."""


class WrongTenantServer(RuntimeError):
    """A tenant's query was sent to another server's alias."""


class TenantServerMixin:
    """Mixed into a Django DatabaseWrapper whose settings carry TENANT_SERVER."""

    settings_dict: dict[str, Any]
    alias: str
    in_atomic_block: bool
    autocommit: bool

    def active_tenant(self) -> TenantContext:
        tenant = require_current_tenant()
        server = self.settings_dict["TENANT_SERVER"]
        if tenant.server != server:
            raise WrongTenantServer(f"tenant {tenant.app_id} lives on server {tenant.server!r}, not {server!r}")
        return tenant

    def refuse_switch_in_transaction(self, current_db: str | None, wanted_db: str) -> None:
        # Statements already run in this transaction belong to current_db; mixing tenants in one
        # transaction would commit or roll back two tenants' rows together.
        if current_db is not None and (self.in_atomic_block or not self.autocommit):
            raise TenantSwitchInTransaction(
                f"{self.alias}: cannot switch from {current_db} to {wanted_db} inside an open transaction"
            )


def quote_database_name(db_name: str) -> str:
    """A database name as an SQL identifier, after the allow-list: it can hold no backtick or quote."""
    if not DB_NAME_PATTERN.fullmatch(db_name):
        raise ValueError(f"unsafe database name {db_name!r}")
    return f"`{db_name}`"
