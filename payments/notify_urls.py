"""Mounted at /pay/v1/ (config/urls.py); the paths need no X-AppID (TENANT_EXEMPT_PATHS)."""

from django.urls import URLPattern, URLResolver, path

from payments.notify_views import refund_notify, transaction_notify

urlpatterns: list[URLPattern | URLResolver] = [
    path("notify/<str:app_id>/transaction", transaction_notify, name="pay-notify-transaction"),
    path("notify/<str:app_id>/refund", refund_notify, name="pay-notify-refund"),
]
