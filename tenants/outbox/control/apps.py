from django.apps import AppConfig


class OutboxControlConfig(AppConfig):
    name = "tenants.outbox.control"
    label = "outbox_control"
    verbose_name = "jobs outbox (control database)"
    default_auto_field = "django.db.models.BigAutoField"
