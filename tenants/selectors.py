"""Reads of the tenant registry."""

from django.db.models import QuerySet

from core.tenant_context import TenantContext
from tenants import cache
from tenants.app_ids import app_id_validate
from tenants.cache import TenantEntry
from tenants.exceptions import TenantNotFound, TenantSuspended
from tenants.models import Tenant


def tenant_entry_get(*, app_id: str) -> TenantEntry | None:
    """The registry entry of an AppID through the local, then the shared cache, then the control DB."""
    found, entry = cache.local_get(app_id)
    if found:
        return entry
    # Before the reads below, which yield under gevent: local_set then knows if a change was noticed meanwhile.
    epoch = cache.local_epoch()
    found, entry = cache.shared_get(app_id)
    if not found:
        entry = _entry_from_database(app_id)
        cache.shared_set(app_id, entry)
    cache.local_set(app_id, entry, epoch=epoch)
    return entry


def _entry_from_database(app_id: str) -> TenantEntry | None:
    row = (
        Tenant.objects.filter(app_id=app_id)
        .exclude(status=Tenant.Status.PROVISIONING)
        .values("app_id", "status", "db_server", "db_name")
        .first()
    )
    return TenantEntry(**row) if row else None


def tenant_resolve(*, app_id: str | None) -> TenantContext:
    """The active tenant's context for a header value, or the error the client gets."""
    app_id = app_id_validate(app_id)
    entry = tenant_entry_get(app_id=app_id)
    if entry is None:
        raise TenantNotFound()
    if entry.status != Tenant.Status.ACTIVE:
        raise TenantSuspended()
    return TenantContext(app_id=entry.app_id, db_name=entry.db_name, server=entry.db_server)


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
