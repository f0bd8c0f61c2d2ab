"""Jobs of a frozen tenant wait: the worker hands them to rq's scheduler for a little later, never runs them."""

import logging
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError
from rq.job import Job
from rq.queue import Queue

from core.exceptions import REDIS_UNREACHABLE
from tenants.moving import conf
from tenants.moving.selectors import tenant_move_frozen

logger = logging.getLogger(__name__)

LOOKUP_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, *REDIS_UNREACHABLE)


def job_delay_if_frozen(job: Job, queue: Queue) -> bool:
    """In the worker, for a job just taken off `queue`: True when it was put back for later instead.

    Scheduled first and only then taken off rq's intermediate list, so a crash between the two leaves the job
    twice (jobs run at least once, and are idempotent), never nowhere. The scheduler (`rqworker
    --with-scheduler`) puts it back on its queue when due; if the tenant is still frozen, it waits again.
    """
    app_id = getattr(job, "app_id", None)
    if not app_id or job.meta.get("platform"):
        return False
    try:
        frozen = tenant_move_frozen(app_id=app_id)
    except LOOKUP_ERRORS:
        return False  # the job's own lookup meets the same error and retries the job as for any hiccup
    if not frozen:
        return False
    queue.schedule_job(job, datetime.now(UTC) + timedelta(seconds=conf.job_delay_seconds()))
    queue.connection.lrem(queue.intermediate_queue_key, 1, job.id)
    logger.info(
        "job %s of %s delayed %.1f s: the tenant is frozen for a move", job.id, app_id, conf.job_delay_seconds()
    )
    return True
