from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.auth import LoginApi, LogoutApi
from api.me import MeApi, MePhoneApi
from api.ping import PingApi

urlpatterns = [
    path("api/v1/ping", PingApi.as_view(), name="ping"),
    path("api/v1/auth/login", LoginApi.as_view(), name="login"),
    path("api/v1/auth/logout", LogoutApi.as_view(), name="logout"),
    path("api/v1/me", MeApi.as_view(), name="me"),
    path("api/v1/me/phone", MePhoneApi.as_view(), name="me-phone"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
