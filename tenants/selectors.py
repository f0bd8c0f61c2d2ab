"""Reads of the tenant registry (this environment's rows only: Tenant.objects)."""

from collections.abc import Callable

from django.db.models import QuerySet

from core.tenant_context import TenantContext
from tenants import cache
from tenants.app_ids import app_id_validate
from tenants.cache import Loaded, TenantEntry
from tenants.exceptions import TenantNotFound, TenantSuspended
from tenants.models import Tenant

# Wraps the database read of a lookup that no cache could answer (the middleware's budget of unknown AppIDs).
LoadGuard = Callable[[Callable[[], Loaded]], Loaded]


def tenant_entry_get(*, app_id: str, guard: LoadGuard | None = None) -> TenantEntry | None:
    """The registry entry of an AppID through the local, then the shared cache, then the control DB."""

    def load() -> Loaded:
        return _entry_from_database(app_id)

    return cache.get_or_load(app_id, load if guard is None else lambda: guard(load))


def _entry_from_database(app_id: str) -> Loaded:
    row = (
        Tenant.objects.filter(app_id=app_id)
        .values("app_id", "status", "db_server", "db_name", "version", "move_state")
        .first()
    )
    if row is None:
        return None, None
    if row["status"] == Tenant.Status.PROVISIONING:
        return None, row["version"]  # invisible to requests until its database is ready
    entry = TenantEntry(
        app_id=row["app_id"],
        status=row["status"],
        server=row["db_server"],
        db_name=row["db_name"],
        version=row["version"],
        move_state=row["move_state"],
    )
    return entry, entry.version


def tenant_resolve(*, app_id: str | None, guard: LoadGuard | None = None) -> TenantContext:
    """The active tenant's context for a header value, or the error the client gets."""
    app_id = app_id_validate(app_id)
    entry = tenant_entry_get(app_id=app_id, guard=guard)
    if entry is None:
        raise TenantNotFound()
    if entry.status != Tenant.Status.ACTIVE:
        raise TenantSuspended()
    return entry.context


def tenant_context_for(tenant: Tenant) -> TenantContext:
    """The context of a registry row, whatever its status (for commands that act on it)."""
    return TenantContext(app_id=tenant.app_id, db_name=tenant.db_name, server=tenant.db_server)


def tenant_list(*, app_ids: list[str] | None = None) -> QuerySet[Tenant]:
    tenants = Tenant.objects.all()
    return tenants.filter(app_id__in=app_ids) if app_ids else tenants


def tenant_get(*, app_id: str) -> Tenant:
    try:
        return Tenant.objects.get(app_id=app_id_validate(app_id))
    except Tenant.DoesNotExist:
        raise TenantNotFound() from None
