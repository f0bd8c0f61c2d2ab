from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """WeChat Pay orders, refunds and the price list: a tenant app (each tenant's own database)."""

    name = "payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"
