from django.apps import AppConfig


class PushesControlConfig(AppConfig):
    """Each tenant's push settings (Token, EncodingAESKey, mode, format): in the control database."""

    name = "pushes.control"
    label = "pushes_control"
    default_auto_field = "django.db.models.BigAutoField"
