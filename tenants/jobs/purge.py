"""Deleting a tenant's jobs when the tenant is dropped: queued, waiting for a retry, failed, finished.

Found through the tenant's own index (tenants.jobs.index), not by reading every tenant's jobs. A job that is
running right now is left to finish or fail on its own: its tenant is suspended first, so its next attempt
is refused (TenantJob) and never reaches another database.
"""

import logging

from rq.executions import Execution
from rq.job import Job, JobStatus

from tenants.jobs.index import index_drop, tenant_jobs

logger = logging.getLogger(__name__)


def jobs_purge_for_tenant(*, app_id: str) -> int:
    """Deletes every job of the tenant that is not running; returns how many."""
    doomed = [job for job in tenant_jobs(app_id=app_id) if job.get_status(refresh=False) != JobStatus.STARTED]
    stale = 0
    for job in doomed:
        stale += executions_stale_forget(job)
        job.delete()
    if stale:
        logger.warning(
            "%s: %d stale rq execution record(s) cleared before deleting its jobs (their records were gone from "
            "Redis: a worker that died, or writes a Redis failover lost)",
            app_id,
            stale,
        )
    index_drop(app_id=app_id)
    return len(doomed)


def executions_stale_forget(job: Job) -> int:
    """Removes from the job's execution registry the executions whose own record Redis no longer has.

    rq's Job.delete() fetches every execution its registry names and raises ValueError ("Execution ... not
    found in Redis") for one whose hash is gone. That happens after a failover (asynchronous replication lost
    the hash, or kept the registry's entry only), and for up to a minute after a worker died (the hash expires
    with the heartbeat, the registry's entry 60 s later: rq.executions). Returns how many were removed.
    """
    redis, registry = job.connection, job.execution_registry
    execution_ids = registry.get_execution_ids()
    if not execution_ids:
        return 0
    with redis.pipeline(transaction=False) as pipeline:
        for execution_id in execution_ids:
            pipeline.exists(Execution(id=execution_id, job_id=job.id, connection=redis).key)
        present = pipeline.execute()
    stale = [execution_id for execution_id, found in zip(execution_ids, present, strict=True) if not found]
    if stale:
        redis.zrem(registry.key, *stale)
    return len(stale)
