from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.auth import LoginApi, LogoutApi
from api.jobs import JobApi
from api.me import MeApi, MePhoneApi
from api.messages import SubscribeMessageApi
from api.ping import PingApi

urlpatterns = [
    path("api/v1/ping", PingApi.as_view(), name="ping"),
    path("api/v1/auth/login", LoginApi.as_view(), name="login"),
    path("api/v1/auth/logout", LogoutApi.as_view(), name="logout"),
    path("api/v1/me", MeApi.as_view(), name="me"),
    path("api/v1/me/phone", MePhoneApi.as_view(), name="me-phone"),
    path("api/v1/messages/subscribe", SubscribeMessageApi.as_view(), name="messages-subscribe"),
    path("api/v1/jobs/<str:job_id>", JobApi.as_view(), name="job"),
    # Tenant apps' own endpoints.
    path("api/v1/", include("payments.api_urls")),
    path("api/v1/", include("pushes.api_urls")),
    path("api/v1/", include("avatars.api_urls")),
    # The team's own tenant apps (config/settings/tenant_apps.py): each one's api_urls, under /api/v1/.
    *(path("api/v1/", include(f"{app}.api_urls")) for app in settings.LOCAL_TENANT_APPS),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # No OPTIONS metadata: DRF would render it with the page's HTML renderer, which has no template for it (500).
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", metadata_class=None), name="docs"),
]
