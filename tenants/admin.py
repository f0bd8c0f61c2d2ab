"""The tenant registry in Django admin: read and search; the AppSecret is never shown."""

from django.contrib import admin

from tenants.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["app_id", "name", "status", "db_server", "db_name", "has_secret", "created_at"]
    list_filter = ["status", "db_server"]
    search_fields = ["app_id", "name"]
    # app_secret_encrypted is not editable and not listed: neither it nor the secret reaches a page.
    fields = ["app_id", "name", "status", "db_server", "db_name", "created_at", "updated_at"]
    readonly_fields = ["app_id", "status", "db_server", "db_name", "created_at", "updated_at"]

    @admin.display(boolean=True, description="AppSecret set")
    def has_secret(self, tenant: Tenant) -> bool:
        return tenant.has_secret

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        # Creating a tenant means creating its database: `manage.py create_tenant` does that.
        return False
