from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Configuration problems are system checks (`manage.py check` reports them all at once, with hints).
        from tenants import checks  # noqa: F401
