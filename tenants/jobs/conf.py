"""Settings of the background jobs, read per call so ``override_settings`` works in tests."""

from django.conf import settings
from rq import Retry


def get_queue_name() -> str:
    """The one shared queue every tenant's jobs go to (more queues would be by priority, never by tenant)."""
    return str(settings.JOBS_QUEUE)


def get_retry() -> Retry:
    """Back-off for temporary errors: JOBS_RETRY_MAX attempts after the first, JOBS_RETRY_INTERVALS apart."""
    return Retry(max=int(settings.JOBS_RETRY_MAX), interval=[int(s) for s in settings.JOBS_RETRY_INTERVALS])


def get_result_ttl() -> int:
    """Seconds a finished job's result stays readable through GET /api/v1/jobs/<id>."""
    return int(settings.JOBS_RESULT_TTL_SECONDS)


def get_failure_ttl() -> int:
    """Seconds a failed job stays in the failed registry, for the failed_jobs command."""
    return int(settings.JOBS_FAILURE_TTL_SECONDS)


def get_heartbeat_seconds() -> int:
    """How often a worker tells Redis that its running job is alive."""
    return int(settings.JOBS_HEARTBEAT_SECONDS)


def get_heartbeat_grace_seconds() -> int:
    """How long a missing heartbeat is tolerated before the job counts as abandoned (rq's own is 60 s)."""
    return int(settings.JOBS_HEARTBEAT_GRACE_SECONDS)


def get_maintenance_seconds() -> int:
    """How often an idle or busy worker looks for abandoned jobs (rq's own default is 10 minutes)."""
    return int(settings.JOBS_MAINTENANCE_SECONDS)
