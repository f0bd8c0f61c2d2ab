"""Mounted under /api/v1/ (api/urls.py): the tenant comes from X-AppID, the user from the token."""

from django.urls import URLPattern, URLResolver, path

from payments.api import OrderCreateApi, OrderDetailApi, OrderPrepayApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("pay/orders", OrderCreateApi.as_view(), name="pay-orders"),
    path("pay/orders/<int:order_id>", OrderDetailApi.as_view(), name="pay-order"),
    path("pay/orders/<int:order_id>/prepay", OrderPrepayApi.as_view(), name="pay-order-prepay"),
]
