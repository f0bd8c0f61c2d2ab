from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "tenants.outbox"
    label = "outbox"
    verbose_name = "jobs outbox (tenant databases)"
    default_auto_field = "django.db.models.BigAutoField"
