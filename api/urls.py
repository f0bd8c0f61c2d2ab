from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from api.views import PingApi

urlpatterns = [
    path("api/v1/ping", PingApi.as_view(), name="ping"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="docs"),
]
