from django.contrib import admin
from django.urls import include, path

from core.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("platform/v1/", include("api.platform_urls")),
    path("", include("api.urls")),
]

handler404 = "core.responses.not_found_view"
handler500 = "core.responses.server_error_view"
