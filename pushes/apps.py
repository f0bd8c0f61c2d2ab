from django.apps import AppConfig


class PushesConfig(AppConfig):
    """What WeChat pushes to a tenant (events, customer-service messages, subscriptions): a tenant app."""

    name = "pushes"
    label = "pushes"
    default_auto_field = "django.db.models.BigAutoField"
