from django.apps import AppConfig


class PushesControlConfig(AppConfig):
    """Each tenant's push settings (Token, EncodingAESKey, mode, format): in the control database."""

    name = "pushes.control"
    label = "pushes_control"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pushes.control.models import PushSettings
        from tenants.secret_rotation import register_encrypted_field

        # Fernet values under TENANT_SECRETS_KEYS: rotate_secrets_key re-encrypts them. The registry visits the
        # column with each tenant active; this model lives in the control database, so the first visit moves
        # every row and the later ones find them current.
        register_encrypted_field(model=PushSettings, field="token_encrypted", label="push tokens")
        register_encrypted_field(model=PushSettings, field="aes_key_encrypted", label="push AES keys")
