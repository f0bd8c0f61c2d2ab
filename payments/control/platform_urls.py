from django.urls import URLPattern, URLResolver, path

from payments.control import platform

urlpatterns: list[URLPattern | URLResolver] = [
    path("tenants/<str:app_id>/payment", platform.TenantPaymentApi.as_view(), name="platform-tenant-payment"),
]
