"""The settings pushes reads, through functions so that override_settings works in tests."""

from django.conf import settings


def max_body_bytes() -> int:
    return int(settings.PUSH_MAX_BODY_BYTES)


def timestamp_tolerance_seconds() -> int:
    return int(settings.PUSH_TIMESTAMP_TOLERANCE_SECONDS)


def messages_page_size() -> int:
    return int(settings.PUSH_MESSAGES_PAGE_SIZE)


def record_keep_days() -> int:
    return int(settings.PUSH_RECORD_KEEP_DAYS)
