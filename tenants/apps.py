from django.apps import AppConfig, apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants import checks  # noqa: F401  (registers the registry's system checks)

        check_app_placement()
        check_tenant_servers()


def check_app_placement() -> None:
    """Every app with models belongs to the control database or to the tenants': fail at start-up, not later."""
    control, tenant = set(settings.CONTROL_APPS), set(settings.TENANT_APPS)
    if control & tenant:
        raise ImproperlyConfigured(f"apps in both CONTROL_APPS and TENANT_APPS: {sorted(control & tenant)}")
    for config in apps.get_app_configs():
        if any(True for _ in config.get_models()) and config.label not in control | tenant:
            raise ImproperlyConfigured(f"app {config.label!r} has models: add it to CONTROL_APPS or TENANT_APPS")


def check_tenant_servers() -> None:
    from core.tenant_context import tenant_db_alias, tenant_ddl_alias

    for server in settings.TENANT_DB_SERVER_NAMES:
        for alias in (tenant_db_alias(server), tenant_ddl_alias(server)):
            if alias not in settings.DATABASES:
                raise ImproperlyConfigured(f"tenant database server {server!r} has no {alias!r} database")
    if settings.TENANT_DB_DEFAULT_SERVER not in settings.TENANT_DB_SERVER_NAMES:
        raise ImproperlyConfigured(f"TENANT_DB_DEFAULT_SERVER {settings.TENANT_DB_DEFAULT_SERVER!r} is not a server")
