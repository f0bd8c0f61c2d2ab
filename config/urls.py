from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from core.health import healthz, readyz

urlpatterns = [
    # The mini-programs' API first: every one of its paths starts with api/, which no other pattern does, and
    # Django tries the patterns in order (each one missed is work on every request).
    path("", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Prometheus only: loopback and METRICS_ALLOWED_NETWORKS, never through nginx (docs/metrics.md).
    path("metrics", include("metrics.urls")),
    path("admin/", admin.site.urls),
    path("platform/v1/", include("api.platform_urls")),
    # WeChat and WeChat Pay call these: no X-AppID, the path names the tenant.
    path("pay/v1/", include("payments.notify_urls")),
    path("wechat/v1/", include("pushes.urls")),
    path("wechat/v1/component/", include("component.urls")),
]
# ./dev serve: uploaded files at MEDIA_URL (static() adds nothing unless DEBUG); nginx or a CDN serves them in
# production (docs/avatars.md).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Django's own errors in the one JSON shape (a foreign Host, oversized data, PermissionDenied, not found, crash).
handler400 = "core.error_views.bad_request_view"
handler403 = "core.error_views.permission_denied_view"
handler404 = "core.responses.not_found_view"
handler500 = "core.responses.server_error_view"
