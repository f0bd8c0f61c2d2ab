"""Deleting a tenant's jobs when the tenant is dropped: queued, waiting for a retry, failed, finished.

Found through the tenant's own index (tenants.jobs.index), not by reading every tenant's jobs. A job that is
running right now is left to finish or fail on its own: its tenant is suspended first, so its next attempt
is refused (TenantJob) and never reaches another database.
"""

from rq.job import JobStatus

from tenants.jobs.index import index_drop, tenant_jobs


def jobs_purge_for_tenant(*, app_id: str) -> int:
    """Deletes every job of the tenant that is not running; returns how many."""
    doomed = [job for job in tenant_jobs(app_id=app_id) if job.get_status(refresh=False) != JobStatus.STARTED]
    for job in doomed:
        job.delete()
    index_drop(app_id=app_id)
    return len(doomed)
