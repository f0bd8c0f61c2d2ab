"""Periodic platform jobs: registered by apps, enqueued once per period for the whole fleet.

An app registers a job in its AppConfig.ready() with `register_periodic(name=..., every_seconds=..., func=...)`.
Every relay pass (`manage.py relay_outbox`, and each worker's maintenance) calls `periodic_enqueue_due()`: the
first process to take a job's Redis key for the period enqueues it as a platform job (through the control
database's outbox, like every job), the others find the key taken. So a fleet of any size runs each periodic job
once per period, and a period with Redis down is simply skipped (the next pass after it comes back runs it).
The job itself decides which tenants it touches (for example only those with pending orders).
"""

import logging
from dataclasses import dataclass

from django.conf import settings

from core.exceptions import REDIS_UNREACHABLE
from tenants.jobs.outbox import enqueue
from tenants.jobs.queue import get_connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # unique: its Redis key, and the name in logs
    every_seconds: int
    func: str  # the dotted path of the job function, called with no arguments and no active tenant


_registered: dict[str, PeriodicJob] = {}


def register_periodic(*, name: str, every_seconds: int, func: str) -> None:
    job = PeriodicJob(name=name, every_seconds=max(1, int(every_seconds)), func=func)
    if name in _registered and _registered[name] != job:
        raise ValueError(f"periodic job {name!r} is registered twice")
    _registered[name] = job


def periodic_jobs_registered() -> list[PeriodicJob]:
    return list(_registered.values())


def periodic_enqueue_due_if_enabled() -> list[str]:
    """The relay passes' call: nothing while PERIODIC_JOBS_ENABLED is off (the test suite's workers)."""
    return periodic_enqueue_due() if settings.PERIODIC_JOBS_ENABLED else []


def periodic_enqueue_due() -> list[str]:
    """Enqueue each registered job whose period this process is the first to claim; returns their names."""
    enqueued: list[str] = []
    for job in _registered.values():
        key = f"{settings.RQ_KEY_PREFIX}:periodic:{job.name}"
        try:
            claimed = get_connection().set(key, "1", nx=True, ex=job.every_seconds)
        except REDIS_UNREACHABLE as error:
            logger.warning("periodic jobs: Redis is unreachable, none enqueued: %s", error)
            return enqueued
        if claimed:
            enqueue(job.func, platform=True)
            enqueued.append(job.name)
    if enqueued:
        logger.info("periodic jobs enqueued: %s", ", ".join(enqueued))
    return enqueued
