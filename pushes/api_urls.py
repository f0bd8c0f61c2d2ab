from django.urls import URLPattern, URLResolver, path

from pushes.api_views import MySubscriptionsApi

# Included under /api/v1/ (api/urls.py).
urlpatterns: list[URLPattern | URLResolver] = [
    path("me/subscriptions", MySubscriptionsApi.as_view(), name="me-subscriptions"),
]
