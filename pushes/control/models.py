"""Each tenant's push settings (Token, EncodingAESKey, mode, format): in the control database.

The Token and the EncodingAESKey are Fernet values under TENANT_SECRETS_KEYS (tenants.secrets), like the
AppSecret: written through the properties below, never shown back by the admin or the API.
"""

from django.db import models

from tenants.secrets import secret_decrypt, secret_encrypt


class PushSettings(models.Model):
    """What was entered on WeChat's 消息推送 page for one mini-program, so its pushes can be verified."""

    class Mode(models.TextChoices):
        PLAIN = "plain", "plain (明文)"
        COMPATIBLE = "compatible", "compatible (兼容)"
        SAFE = "safe", "safe (安全)"

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    app_id = models.CharField(max_length=64, unique=True)
    token_encrypted = models.CharField(max_length=255, editable=False)
    aes_key_encrypted = models.CharField(max_length=255, blank=True, default="", editable=False)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SAFE)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    # Reply transfer_customer_service to customer-service messages, handing them to WeChat's customer-service tool.
    transfer_customer_service = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "push settings"
        verbose_name_plural = "push settings"

    def __str__(self) -> str:
        return f"{self.app_id} ({self.mode}, {self.format})"

    @property
    def token(self) -> str:
        return secret_decrypt(self.token_encrypted) if self.token_encrypted else ""

    @token.setter
    def token(self, value: str) -> None:
        self.token_encrypted = secret_encrypt(value) if value else ""

    @property
    def aes_key(self) -> str:
        return secret_decrypt(self.aes_key_encrypted) if self.aes_key_encrypted else ""

    @aes_key.setter
    def aes_key(self, value: str) -> None:
        self.aes_key_encrypted = secret_encrypt(value) if value else ""
