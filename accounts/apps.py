from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The mini-program's users: a tenant app, so its tables live in every tenant's own database."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
