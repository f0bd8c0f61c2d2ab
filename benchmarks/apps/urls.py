from django.urls import include, path

from benchmarks.apps import views

urlpatterns = [
    path("bench/plain/django", views.plain_django),
    path("bench/plain/drf", views.PlainPingApi.as_view()),
    path("bench/plain/length-demo", views.length_demo),
    path("bench/slow", views.SlowApi.as_view()),
    path("", include("config.urls")),
]

handler404 = "core.responses.not_found_view"
handler500 = "core.responses.server_error_view"
