from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The platform console: who may do what to tenants, and the record of what was done (control database)."""

    name = "console"
    default_auto_field = "django.db.models.BigAutoField"
