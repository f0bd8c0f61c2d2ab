from django.apps import AppConfig


class AvatarsConfig(AppConfig):
    """Users' avatars, checked by WeChat before anyone sees them: a tenant app."""

    name = "avatars"
    label = "avatars"
    default_auto_field = "django.db.models.BigAutoField"
