from django.apps import AppConfig


class ComponentConfig(AppConfig):
    """Open-platform mode: the component's ticket and tokens, authorizers: in the control database."""

    name = "component"
    label = "component"
    default_auto_field = "django.db.models.BigAutoField"
