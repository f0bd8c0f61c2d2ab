"""Settings of releases (imported at the end of config.settings.base)."""

from config.env import env  # noqa: F401
