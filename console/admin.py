"""The operators' console in Django admin: the tenant registry (console.tenant_admin) and the audit trail,
readable by whoever has console.view_auditentry, editable by no one."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from console.models import AuditEntry
from console.tenant_admin import TenantAdmin
from tenants.models import Tenant, registry_environment

admin.site.register(Tenant, TenantAdmin)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "app_id", "door", "address"]
    # By time with ranges, not date_hierarchy: that needs MySQL's time zone tables, which a server may lack.
    list_filter = ["action", "door", "at"]
    search_fields = ["app_id", "actor", "address"]
    readonly_fields = ("at", "actor", "actor_id", "action", "app_id", "address", "door", "details", "environment")
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        # This environment's entries only, as with the registry's rows (another environment's are not ours).
        return super().get_queryset(request).filter(environment=registry_environment())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
