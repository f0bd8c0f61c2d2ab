"""The database router: control apps go to `default`, tenant apps to the active tenant's server."""

from typing import Any

from django.conf import settings
from django.db.models import Model

from core.tenant_context import require_current_tenant


def is_tenant_app(app_label: str) -> bool:
    return app_label in settings.TENANT_APPS


def is_tenant_alias(alias: str) -> bool:
    return "TENANT_SERVER" in settings.DATABASES.get(alias, {})


class TenantRouter:
    """Routes by app: a tenant app's model with no active tenant raises (TenantNotActive), never falls back."""

    def _db_for(self, model: type[Model]) -> str:
        if is_tenant_app(model._meta.app_label):
            return require_current_tenant().db_alias
        return "default"

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return self._db_for(model)

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return self._db_for(model)

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # Rows of a tenant database never point at the control database, or at another tenant's.
        return is_tenant_app(obj1._meta.app_label) == is_tenant_app(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return is_tenant_app(app_label) == is_tenant_alias(db)
