"""Per-tenant facts for the admin page and the platform API: users, database size, jobs, last request."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from core.tenant_context import activate_tenant
from tenants.activity import tenant_last_request
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

# Django's date format: the same on the tenant's page and its users' page (users.html).
TIME_SHOWN = "Y-m-d H:i:s T"


@dataclass(frozen=True)
class TenantFacts:
    users: int | None
    database_bytes: int | None
    jobs_queued: int
    jobs_failed: int
    last_request_at: datetime | None


def tenant_facts_get(*, tenant: Tenant) -> TenantFacts:
    """Read in the tenant's own context, one tenant at a time; a tenant still provisioning has no database yet."""
    users = database_bytes = None
    if tenant.status != Tenant.Status.PROVISIONING:
        users, database_bytes = _database_facts(tenant)
    queued, failed = _job_counts(tenant.app_id)
    return TenantFacts(users, database_bytes, queued, failed, tenant_last_request(app_id=tenant.app_id))


def facts_time_text(moment: datetime | None, *, never: str = "never") -> str:
    """A time as people here read it: in TIME_ZONE, to the second, with the zone's name (2026-12-01 19:04:05 CST).

    str() of a stored time would show it in UTC with microseconds.
    """
    return never if moment is None else date_format(localtime(moment), TIME_SHOWN)


def _database_facts(tenant: Tenant) -> tuple[int, int]:
    from accounts.models import MiniProgramUser

    context = tenant_context_for(tenant)
    with activate_tenant(context):
        return MiniProgramUser.objects.count(), connections[context.db_alias].tenant_database_size()


def _job_counts(app_id: str) -> tuple[int, int]:
    from tenants.jobs import tenant_job_counts

    return tenant_job_counts(app_id=app_id)  # the tenant's own job index, not every tenant's jobs
