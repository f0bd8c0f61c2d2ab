"""The active tenant of this request or job, as a small immutable record in a ContextVar.

A ContextVar (not a thread-local) so that each greenlet, thread and asyncio task sees only its own tenant.
The router, the database backends, the logging filter and Sentry read it without asking the registry.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

# Database names are used as identifiers in DDL and in COM_INIT_DB, so they pass this allow-list first
# (MySQL's limit on a database name is 64 characters).
DB_NAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,64}", re.ASCII)


class TenantNotActive(RuntimeError):
    """A tenant's data was asked for while no tenant is active: fail closed, never fall back to `default`."""


@dataclass(frozen=True, slots=True)
class TenantContext:
    app_id: str
    db_name: str
    server: str

    def __post_init__(self) -> None:
        if not DB_NAME_PATTERN.fullmatch(self.db_name):
            raise ValueError(f"unsafe tenant database name {self.db_name!r}")

    @property
    def db_alias(self) -> str:
        """The runtime connection alias of this tenant's database server."""
        return tenant_db_alias(self.server)


def tenant_db_alias(server: str) -> str:
    return f"tenant_{server}"


def tenant_ddl_alias(server: str) -> str:
    return f"tenant_{server}_ddl"


_current_tenant: ContextVar[TenantContext | None] = ContextVar("miniplex_tenant", default=None)


def get_current_tenant() -> TenantContext | None:
    return _current_tenant.get()


def require_current_tenant() -> TenantContext:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotActive("no tenant is active: tenant data needs an X-AppID request or a tenant job")
    return tenant


def set_current_tenant(tenant: TenantContext | None) -> Token[TenantContext | None]:
    """Low level: pair every call with reset_current_tenant(token) in a `finally`."""
    return _current_tenant.set(tenant)


def reset_current_tenant(token: Token[TenantContext | None]) -> None:
    _current_tenant.reset(token)


@contextmanager
def activate_tenant(tenant: TenantContext | None) -> Iterator[TenantContext | None]:
    """Make `tenant` the active one inside the block; the previous one is restored whatever happens."""
    token = set_current_tenant(tenant)
    try:
        yield tenant
    finally:
        reset_current_tenant(token)
