"""Deleting a tenant's jobs when the tenant is dropped: queued, waiting for a retry, failed, finished.

A job that is running right now is left to finish or fail on its own: its tenant is suspended first, so
its next attempt is refused (TenantJob) and never reaches another database.
"""

from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
)

from tenants.jobs.job import TenantJob
from tenants.jobs.queue import get_connection, get_queue

REGISTRIES = (ScheduledJobRegistry, FailedJobRegistry, DeferredJobRegistry, FinishedJobRegistry, CanceledJobRegistry)


def jobs_purge_for_tenant(*, app_id: str) -> int:
    """Deletes every job of the tenant that is not running; returns how many."""
    queue = get_queue()
    job_ids = set(queue.get_job_ids())
    for registry_class in REGISTRIES:
        job_ids.update(registry_class(queue=queue, job_class=TenantJob).get_job_ids())
    jobs = TenantJob.fetch_many(sorted(job_ids), connection=get_connection())
    doomed = [job for job in jobs if job is not None and job.app_id == app_id]
    for job in doomed:
        job.delete()
    return len(doomed)
