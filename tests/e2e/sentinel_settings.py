"""The end-to-end settings with one more test view (tests.e2e.sentinel_urls), for tests/e2e/test_sentinel.py."""

from tests.e2e.settings import *  # noqa: F403

ROOT_URLCONF = "tests.e2e.sentinel_urls"
