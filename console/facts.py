"""Per-tenant facts for the admin page and the platform API: database size, jobs, last request, and what
tenant apps contribute (console.registry: accounts' users)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from console.registry import tenant_facts_registered
from core.tenant_context import activate_tenant
from routers.backends.tenant import tenant_server
from tenants.activity import tenant_last_request
from tenants.jobs import tenant_job_counts
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

# Django's date format: the same on the tenant's page and its users' page.
TIME_SHOWN = "Y-m-d H:i:s T"


@dataclass(frozen=True)
class TenantFacts:
    database_bytes: int | None
    jobs_queued: int
    jobs_failed: int
    last_request_at: datetime | None
    # The tenant apps' facts by name ({"users": 2}); None each while the tenant has no database yet.
    contributed: dict[str, int | None] = field(default_factory=dict)


def tenant_facts_get(*, tenant: Tenant) -> TenantFacts:
    """Read in the tenant's own context, one tenant at a time; a tenant still provisioning has no database yet."""
    contributed: dict[str, int | None] = {fact.name: None for fact in tenant_facts_registered()}
    database_bytes = None
    if tenant.status != Tenant.Status.PROVISIONING:
        contributed, database_bytes = _database_facts(tenant)
    queued, failed = tenant_job_counts(app_id=tenant.app_id)  # the tenant's own job index, not every tenant's
    return TenantFacts(database_bytes, queued, failed, tenant_last_request(app_id=tenant.app_id), contributed)


def facts_time_text(moment: datetime | None, *, never: str = "never") -> str:
    """A time as people here read it: in TIME_ZONE, to the second, with the zone's name (2026-12-01 19:04:05 CST).

    str() of a stored time would show it in UTC with microseconds.
    """
    return never if moment is None else date_format(localtime(moment), TIME_SHOWN)


def _database_facts(tenant: Tenant) -> tuple[dict[str, int | None], int]:
    context = tenant_context_for(tenant)
    with activate_tenant(context):
        contributed: dict[str, int | None] = {fact.name: fact.read() for fact in tenant_facts_registered()}
        return contributed, tenant_server(context.db_alias).tenant_database_size()
