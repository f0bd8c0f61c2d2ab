"""What a worker does for fairness as it takes a job, before it forks (tenants.worker.TenantWorker).

The job stops counting against its tenant's bound, it is counted in the tenant's usage of the day, and when
that tenant has jobs held in its outbox and its queued count has fallen far enough, the next ones are released
(tenants.jobs.fairness). Never raises: a job is run whatever happens to its bookkeeping.
"""

import logging

from django.db import DatabaseError

from core.exceptions import REDIS_UNREACHABLE
from core.usage import usage_add
from tenants.jobs import fairness
from tenants.jobs.relay import outbox_relay_tenant

logger = logging.getLogger(__name__)


def job_taken(*, job_id: str, app_id: str | None, queue: str) -> None:
    try:
        if app_id:
            # Counted like a web process's requests (written with the next flush, at most USAGE_FLUSH_SECONDS
            # later; the worker's maintenance and exit flush too): a write of its own was 3% of a no-op job.
            usage_add(app_id=app_id, kind="jobs")
        if fairness.job_started(app_id=app_id, queue=queue, job_id=job_id) and app_id:
            report = outbox_relay_tenant(app_id=app_id)
            logger.info("%s: %d held job(s) released", app_id, report.pushed)
    except REDIS_UNREACHABLE + (DatabaseError,) as error:
        # The relay's next pass releases them instead; an id left in the set is pruned (tenants.jobs.fairness).
        logger.warning("job %s: fairness bookkeeping failed: %s", job_id, error)
