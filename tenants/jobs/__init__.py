"""Tenant-tagged background jobs on one shared RQ queue.

`enqueue(func, *args, **kwargs)` stamps the active tenant on the job (job.meta["app_id"]), writes its record
in the tenant database's transaction (the outbox) and pushes it to the queue when that transaction commits;
`manage.py relay_outbox` pushes what a Redis outage left behind. TenantJob activates that tenant in the
worker, or refuses the job when its tenant is unknown or suspended; tenants.worker.TenantWorker is the
worker for `manage.py rqworker`.
"""

from tenants.jobs.exceptions import JobNotFound, JobTenantRefused
from tenants.jobs.job import META_APP_ID, META_FAILURE, TenantJob
from tenants.jobs.outbox import enqueue
from tenants.jobs.purge import jobs_purge_for_tenant
from tenants.jobs.queue import get_connection, get_queue
from tenants.jobs.selectors import (
    FailedJob,
    JobState,
    failed_jobs_list,
    job_get_for_tenant,
    job_state_get,
    platform_job_state_get,
    tenant_job_counts,
)
from tenants.jobs.services import failed_job_requeue, failed_jobs_requeue

__all__ = [
    "META_APP_ID",
    "META_FAILURE",
    "FailedJob",
    "JobNotFound",
    "JobState",
    "JobTenantRefused",
    "TenantJob",
    "enqueue",
    "failed_job_requeue",
    "failed_jobs_list",
    "failed_jobs_requeue",
    "get_connection",
    "get_queue",
    "jobs_purge_for_tenant",
    "platform_job_state_get",
    "tenant_job_counts",
    "job_get_for_tenant",
    "job_state_get",
]
