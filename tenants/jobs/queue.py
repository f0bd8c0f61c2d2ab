"""The shared queue and its Redis connection (enqueueing is in tenants.jobs.outbox)."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis import Redis
from rq import Queue
from rq.defaults import RQ_KEY_PREFIX
from rq.job import Job

from core import metrics
from core.redis import get_redis
from tenants.jobs.job import META_APP_ID, TenantJob


def get_connection() -> Redis:
    """The Redis of the jobs queue (RQ_QUEUES) on the process's shared pool (core.redis), or the embedded
    default's in-process fakeredis when no Redis is configured (jobs then run at once: ASYNC False)."""
    _check_key_prefix()
    config = settings.RQ_QUEUES[settings.JOBS_QUEUE]
    # Through Sentinel django-rq's config names the sentinels, and REDIS_URL the same master (config.settings.sentinel).
    return get_redis(config.get("URL", settings.REDIS_URL if "SENTINELS" in config else ""))


def _check_key_prefix() -> None:
    # rq took its prefix from the environment when it was imported; had it been imported before the settings
    # set RQ_KEY_PREFIX, this process would read and write another set of queues than its workers.
    if RQ_KEY_PREFIX != settings.RQ_KEY_PREFIX:
        raise ImproperlyConfigured(
            f"rq uses the key prefix {RQ_KEY_PREFIX!r} but the settings say {settings.RQ_KEY_PREFIX!r}"
        )


class TenantQueue(Queue):
    """rq's Queue, counting every job it puts on the queue by tenant and function (core.metrics)."""

    def enqueue_job(self, job: Job, *args: Any, **kwargs: Any) -> Job:
        job = super().enqueue_job(job, *args, **kwargs)
        metrics.job_queued(tenant=job.meta.get(META_APP_ID), function=job.func_name)
        return job


def get_queue(name: str | None = None) -> Queue:
    """The shared queue (or the named one), with TenantJob; in the embedded default it runs each job at once."""
    name = name or settings.JOBS_QUEUE
    config = settings.RQ_QUEUES.get(name, settings.RQ_QUEUES[settings.JOBS_QUEUE])
    return TenantQueue(
        name,
        connection=get_connection(),
        job_class=TenantJob,
        is_async=config.get("ASYNC", True),
        default_timeout=config.get("DEFAULT_TIMEOUT"),
    )
