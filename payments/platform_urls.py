"""Mounted under /platform/v1/ (api/platform_urls.py): platform staff, no X-AppID."""

from django.urls import URLPattern, URLResolver, path

from payments.admin_views import item_set_form, order_refund_form
from payments.platform_api import OrderPlatformApi, OrderRefundApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("tenants/<str:app_id>/orders/<int:order_id>", OrderPlatformApi.as_view(), name="platform-order"),
    path("tenants/<str:app_id>/orders/<int:order_id>/refund", OrderRefundApi.as_view(), name="platform-order-refund"),
    # The admin's forms (session and CSRF, not part of the API's schema).
    path("tenants/<str:app_id>/items-form", item_set_form, name="platform-item-form"),
    path(
        "tenants/<str:app_id>/orders/<int:order_id>/refund-form", order_refund_form, name="platform-order-refund-form"
    ),
]
