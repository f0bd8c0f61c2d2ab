from django.urls import include, path

from api import platform

urlpatterns = [
    path("tenants", platform.TenantListApi.as_view(), name="platform-tenants"),
    path("tenants/<str:app_id>", platform.TenantDetailApi.as_view(), name="platform-tenant"),
    path("tenants/<str:app_id>/suspend", platform.TenantSuspendApi.as_view(), name="platform-tenant-suspend"),
    path("tenants/<str:app_id>/resume", platform.TenantResumeApi.as_view(), name="platform-tenant-resume"),
    path("tenants/<str:app_id>/secret", platform.TenantSecretApi.as_view(), name="platform-tenant-secret"),
    path("tenants/<str:app_id>/retire", platform.TenantRetireApi.as_view(), name="platform-tenant-retire"),
    path("", include("payments.control.platform_urls")),
    path("", include("payments.platform_urls")),
    path("", include("pushes.platform_urls")),
    path("", include("component.platform_urls")),
    path("", include("component.releases.platform_urls")),
    path("jobs/<str:job_id>", platform.PlatformJobApi.as_view(), name="platform-job"),
]
