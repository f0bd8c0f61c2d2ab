"""Each tenant's jobs, indexed in Redis at enqueue, so a tenant's jobs are found without reading everyone's.

One sorted set per tenant (`<RQ_KEY_PREFIX>:tenant-jobs:<AppID>`, `...:platform` for the platform's jobs): the
job ids, scored by enqueue time. It is written before the job itself is pushed (tenants.jobs.outbox.push), so a
job on the queue is always in its tenant's index. Ids whose jobs rq has let expire (a finished job after
JOBS_RESULT_TTL_SECONDS, a failed one after JOBS_FAILURE_TTL_SECONDS) are pruned when the index is read, and
a job deleted by the purge leaves it at once; the whole set expires when its tenant enqueues nothing for
longer than the longest of those TTLs.
"""

import time
from typing import cast

from django.conf import settings
from redis.client import Pipeline

from tenants.jobs.job import TenantJob
from tenants.jobs.queue import get_connection

PLATFORM = "platform"


def index_key(app_id: str | None) -> str:
    return f"{settings.RQ_KEY_PREFIX}:tenant-jobs:{app_id or PLATFORM}"


def _lifetime() -> int:
    """Seconds an id may stay: no job outlives its result or failure record in rq."""
    return max(settings.JOBS_RESULT_TTL_SECONDS, settings.JOBS_FAILURE_TTL_SECONDS)


def index_add(*, app_id: str | None, job_id: str, pipeline: Pipeline | None = None) -> None:
    """Adds the job to its tenant's index (one round trip, or none when given a pipeline to join)."""
    pipe = pipeline if pipeline is not None else get_connection().pipeline(transaction=False)
    key = index_key(app_id)
    pipe.zadd(key, {job_id: time.time()})
    pipe.expire(key, _lifetime())
    if pipeline is None:
        pipe.execute()


def tenant_jobs(*, app_id: str | None) -> list[TenantJob]:
    """The tenant's jobs that rq still has, oldest first; pruning the ids of jobs it no longer has."""
    connection = get_connection()
    key = index_key(app_id)
    with connection.pipeline(transaction=False) as pipeline:
        pipeline.zremrangebyscore(key, "-inf", time.time() - _lifetime())
        pipeline.zrange(key, 0, -1)
        _, members = pipeline.execute()
    job_ids = [member.decode() for member in members]
    jobs = cast(list[TenantJob | None], TenantJob.fetch_many(job_ids, connection=connection))
    gone = [job_id for job_id, job in zip(job_ids, jobs, strict=True) if job is None]
    if gone:
        connection.zrem(key, *gone)
    # A job is only ever indexed under its own tenant; checked all the same, never trusted blindly.
    return [job for job in jobs if job is not None and job.app_id == app_id]


def index_remove(*, app_id: str | None, job_ids: list[str]) -> None:
    if job_ids:
        get_connection().zrem(index_key(app_id), *job_ids)


def index_drop(*, app_id: str) -> None:
    get_connection().delete(index_key(app_id))
