from django.apps import AppConfig


class PaymentsControlConfig(AppConfig):
    """Each tenant's WeChat Pay merchant and the platform certificates: in the control database."""

    name = "payments.control"
    label = "payments_control"
    default_auto_field = "django.db.models.BigAutoField"
