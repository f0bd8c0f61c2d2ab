"""The app's settings, read per call so that override_settings and each test's environment apply."""

from datetime import timedelta

from django.conf import settings


def lease() -> timedelta:
    return timedelta(seconds=settings.RELEASES_LEASE_SECONDS)


def tick_seconds() -> int:
    return int(settings.RELEASES_TICK_SECONDS)


def audit_poll() -> timedelta:
    return timedelta(seconds=settings.RELEASES_AUDIT_POLL_SECONDS)


def privacy_retry() -> timedelta:
    return timedelta(seconds=settings.RELEASES_PRIVACY_RETRY_SECONDS)


def privacy_max_tries() -> int:
    return int(settings.RELEASES_PRIVACY_MAX_TRIES)


def busy_retry() -> timedelta:
    return timedelta(seconds=settings.RELEASES_BUSY_RETRY_SECONDS)


def tick_batch() -> int:
    return int(settings.RELEASES_TICK_BATCH)
