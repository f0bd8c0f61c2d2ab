from django.urls import URLPattern, URLResolver, path

from pushes.platform_views import TenantMessagesApi, TenantPushSettingsApi

# Included under /platform/v1/ (api/platform_urls.py).
urlpatterns: list[URLPattern | URLResolver] = [
    path("tenants/<str:app_id>/push", TenantPushSettingsApi.as_view(), name="platform-tenant-push"),
    path("tenants/<str:app_id>/messages", TenantMessagesApi.as_view(), name="platform-tenant-messages"),
]
