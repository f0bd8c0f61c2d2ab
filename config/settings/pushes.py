"""Settings of pushes (imported at the end of config.settings.base)."""

from config.env import env  # noqa: F401
