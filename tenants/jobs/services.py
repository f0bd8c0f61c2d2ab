"""Writes on jobs: requeueing failed ones (by id or by tenant), with a fresh set of retries."""

from typing import cast

from rq.exceptions import InvalidJobOperation
from rq.registry import FailedJobRegistry

from tenants.jobs import conf
from tenants.jobs.exceptions import JobNotFound
from tenants.jobs.job import TenantJob
from tenants.jobs.queue import get_queue
from tenants.jobs.selectors import failed_jobs_list, job_fetch


def failed_job_requeue(*, job_id: str) -> TenantJob:
    """Puts one failed job back on the queue; JobNotFound unless it is in the failed registry."""
    queue = get_queue()
    job = job_fetch(job_id=job_id)
    if job is None:
        raise JobNotFound(f"No job {job_id}.")
    # The operator asks for another go: the back-off starts over (the failure reason stays until it runs).
    retry = conf.get_retry()
    job.retries_left, job.retry_intervals = retry.max, retry.intervals
    try:
        return cast(TenantJob, FailedJobRegistry(queue=queue, job_class=TenantJob).requeue(job))
    except InvalidJobOperation:
        raise JobNotFound(f"Job {job_id} is not in the failed registry.") from None


def failed_jobs_requeue(*, app_id: str | None) -> list[TenantJob]:
    """Requeues every failed job of one tenant (app_id), or of the platform's jobs and all tenants' (None)."""
    return [failed_job_requeue(job_id=job.id) for job in failed_jobs_list(app_id=app_id)]
