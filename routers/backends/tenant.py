"""What every tenant-server backend shares: which tenant the connection may serve, and when it may switch."""

from typing import Any

from django.db import connections

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

    # The tenant database the open transaction has run statements on; None outside one, or before its first.
    _transaction_db: str | None = None

    def _set_autocommit(self, autocommit: bool) -> None:
        # Django's atomic() toggles autocommit at the outermost block's start and end: a transaction
        # boundary, after which the connection may serve another tenant again.
        super()._set_autocommit(autocommit)  # type: ignore[misc]
        self._transaction_db = None

    def claim_transaction_for(self, db_name: str) -> None:
        """Binds the open transaction to one tenant database; a statement for another one raises."""
        if not (self.in_atomic_block or not self.autocommit):
            return
        if self._transaction_db is not None and self._transaction_db != db_name:
            # Committing or rolling back would act on two tenants' rows at once.
            raise TenantSwitchInTransaction(
                f"{self.alias}: cannot switch from {self._transaction_db} to {db_name} inside an open transaction"
            )
        self._transaction_db = db_name

    # Each backend's own (MySQL: statements on the server; SQLite: files), for the tenant commands and facts.
    def tenant_database_size(self) -> int:
        """Bytes of the active tenant's database."""
        raise NotImplementedError

    def create_tenant_database(self, db_name: str) -> None:
        raise NotImplementedError

    def drop_tenant_database(self, db_name: str) -> None:
        raise NotImplementedError


def tenant_server(alias: str) -> TenantServerMixin:
    """The connection of a tenant server's alias (runtime or DDL), with the operations above."""
    wrapper = connections[alias]
    if not isinstance(wrapper, TenantServerMixin):
        raise WrongTenantServer(f"{alias} is not a tenant server's alias")
    return wrapper


def quote_database_name(db_name: str) -> str:
    """A database name as an SQL identifier, after the allow-list: it can hold no backtick or quote."""
    if not DB_NAME_PATTERN.fullmatch(db_name):
        raise ValueError(f"unsafe database name {db_name!r}")
    return f"`{db_name}`"
