"""Settings of the background jobs that take computing; the others are read as `settings.JOBS_*` where used
(read per call, so ``override_settings`` works in tests)."""

from django.conf import settings
from rq import Retry


def get_retry() -> Retry:
    """Back-off for temporary errors: JOBS_RETRY_MAX attempts after the first, JOBS_RETRY_INTERVALS apart."""
    return Retry(max=int(settings.JOBS_RETRY_MAX), interval=[int(s) for s in settings.JOBS_RETRY_INTERVALS])
