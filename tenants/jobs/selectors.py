"""Reads of jobs: one job's state for its own tenant, and the failed jobs by tenant."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from rq.exceptions import NoSuchJobError
from rq.job import JobStatus
from rq.registry import FailedJobRegistry

from core.exceptions import REDIS_UNREACHABLE
from core.tenant_context import require_current_tenant
from tenants.jobs.exceptions import JobNotFound
from tenants.jobs.index import tenant_jobs
from tenants.jobs.job import TenantJob
from tenants.jobs.queue import get_connection, get_queue
from tenants.outbox.control.models import PlatformOutboxJob
from tenants.outbox.models import OutboxJob

# Our ids are uuid4().hex; anything else is not ours, and never reaches Redis.
JOB_ID_PATTERN = re.compile(r"[0-9a-f]{32}", re.ASCII)


@dataclass(frozen=True)
class JobState:
    id: str
    status: str
    result: Any
    error: dict[str, Any] | None
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class FailedJob:
    id: str
    app_id: str | None
    func_name: str | None
    ended_at: datetime | None
    failure: dict[str, Any]


def job_fetch(*, job_id: str) -> TenantJob | None:
    """The job with this id, whatever its tenant, or None."""
    if not JOB_ID_PATTERN.fullmatch(job_id):
        return None
    try:
        return cast(TenantJob, TenantJob.fetch(job_id, connection=get_connection()))
    except NoSuchJobError:
        return None


def job_get_for_tenant(*, job_id: str) -> TenantJob:
    """The active tenant's job; another tenant's (or a platform) job is JobNotFound, exactly like a missing one."""
    job = job_fetch(job_id=job_id)
    if job is None or job.is_platform or job.app_id != require_current_tenant().app_id:
        raise JobNotFound()
    return job


def job_state_get(*, job_id: str) -> JobState:
    """The active tenant's job's state; one still in its outbox (not pushed yet: Redis was down) is `queued`."""
    try:
        return _state_of(job_get_for_tenant(job_id=job_id))
    except (JobNotFound,) + REDIS_UNREACHABLE:
        if not _in_outbox(OutboxJob, job_id):  # the active tenant's own database: nobody else's job is there
            raise
        return _waiting(job_id)


def platform_job_state_get(*, job_id: str) -> JobState:
    """A platform job's state (for platform admins); a tenant's job id is JobNotFound here."""
    try:
        job = job_fetch(job_id=job_id)
    except REDIS_UNREACHABLE:
        if not _in_outbox(PlatformOutboxJob, job_id):
            raise
        return _waiting(job_id)
    if job is None or not job.is_platform:
        if _in_outbox(PlatformOutboxJob, job_id):
            return _waiting(job_id)
        raise JobNotFound()
    return _state_of(job)


def _in_outbox(model: type[OutboxJob] | type[PlatformOutboxJob], job_id: str) -> bool:
    return bool(JOB_ID_PATTERN.fullmatch(job_id)) and model.objects.filter(pk=job_id).exists()


def _waiting(job_id: str) -> JobState:
    """A job committed with its data and waiting in the outbox for the relay: not on the queue yet."""
    return JobState(
        id=job_id, status="queued", result=None, error=None, enqueued_at=None, started_at=None, ended_at=None
    )


def _state_of(job: TenantJob) -> JobState:
    status = job.get_status()
    return JobState(
        id=job.id,
        status=str(status.value),
        result=_jsonable(job.return_value()) if status == JobStatus.FINISHED else None,
        error=_error(job) if status != JobStatus.FINISHED else None,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
    )


def failed_jobs_list(*, app_id: str | None = None) -> list[FailedJob]:
    """The failed registry of the shared queue, oldest first; only one tenant's when app_id is given.

    One tenant's are read from its own index (tenants.jobs.index), not from every tenant's failed jobs.
    """
    if app_id is not None:
        jobs = [job for job in tenant_jobs(app_id=app_id) if job.get_status(refresh=False) == JobStatus.FAILED]
        return [_failed(job) for job in jobs]
    queue = get_queue()
    registry = FailedJobRegistry(queue=queue, job_class=TenantJob)
    found = cast(list[TenantJob | None], TenantJob.fetch_many(registry.get_job_ids(), connection=queue.connection))
    return [_failed(job) for job in found if job is not None]


def tenant_job_counts(*, app_id: str) -> tuple[int, int]:
    """How many of the tenant's jobs are queued and how many have failed (from its index, nobody else's)."""
    statuses = [job.get_status(refresh=False) for job in tenant_jobs(app_id=app_id)]
    return statuses.count(JobStatus.QUEUED), statuses.count(JobStatus.FAILED)


def _failed(job: TenantJob) -> FailedJob:
    failure = job.failure or {"code": "job_failed", "message": _last_line(job.exc_info)}
    return FailedJob(id=job.id, app_id=job.app_id, func_name=job.func_name, ended_at=job.ended_at, failure=failure)


def _error(job: TenantJob) -> dict[str, Any] | None:
    """The latest failure's code and message: why a failed job failed, or why a requeued one is waiting."""
    if job.failure is None:
        return None
    return {"code": job.failure["code"], "message": job.failure["message"]}


def _jsonable(value: Any) -> Any:
    """Job functions return JSON data by contract; anything else is shown as text rather than breaking the API."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "failed"
