"""Production settings (master) plus the test-only views of tests/urls.py, for the end-to-end processes."""

from config.settings.master import *  # noqa: F403

ROOT_URLCONF = "tests.urls"
