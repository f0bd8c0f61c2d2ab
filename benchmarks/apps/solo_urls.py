"""The single-tenant project's URLs: ping and /me at Miniplex's paths, and the health check gunicorn's runner polls."""

from django.urls import path

from api.me import MeApi
from benchmarks.apps.views import SoloPingApi
from core.health import healthz

urlpatterns = [
    path("api/v1/ping", SoloPingApi.as_view()),
    path("api/v1/me", MeApi.as_view()),
    path("healthz", healthz),
]

handler404 = "core.responses.not_found_view"
handler500 = "core.responses.server_error_view"
