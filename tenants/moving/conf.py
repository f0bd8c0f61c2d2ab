"""The move's settings, read through functions so that override_settings works."""

from django.conf import settings


def retry_after_seconds() -> int:
    """Retry-After of a 503 tenant_moving: about the freeze's length for a tenant of 100,000 rows."""
    return int(settings.TENANT_MOVE_RETRY_AFTER_SECONDS)


def job_delay_seconds() -> float:
    """How long a job of a frozen tenant waits before it is tried again (rq's scheduler takes it back)."""
    return float(settings.TENANT_MOVE_JOB_DELAY_SECONDS)


def propagation_seconds() -> float:
    """How long the move waits between announcing "moving" and the freeze: every process must read the tenant
    from Redis at each request by then (the registry's invalidation bound, and a margin)."""
    return float(settings.TENANT_LOCAL_CACHE_SECONDS) + 0.5


def in_flight_seconds() -> float:
    """After a switch: how long a lookup that read the frozen entry just before it may still be holding a push."""
    return float(getattr(settings, "TENANT_MOVE_IN_FLIGHT_SECONDS", 1.0))
