"""Each tenant's WeChat Pay merchant and the platform certificates: in the control database.

Secrets (the merchant's private key, the APIv3 key) are Fernet values under TENANT_SECRETS_KEYS
(tenants.secrets), written only by payments.control.services and never shown by a page, an API or a log line.
"""

from __future__ import annotations

from django.db import models

from core.tenant_context import get_current_tenant
from tenants.models import Tenant, registry_environment


class MerchantManager(models.Manager["TenantMerchant"]):
    """This environment's merchants; with a tenant active, only that tenant's (a query belongs to one tenant).

    The second half also lets tenants.secret_rotation re-encrypt the secrets tenant by tenant, as it does the
    columns of tenant apps, without reading another tenant's row.
    """

    def get_queryset(self) -> models.QuerySet[TenantMerchant]:
        queryset = super().get_queryset().filter(tenant__environment=registry_environment())
        active = get_current_tenant()
        return queryset.filter(tenant__app_id=active.app_id) if active is not None else queryset


class TenantMerchant(models.Model):
    """The WeChat Pay merchant (mchid) a tenant's payments go to, with the keys that speak for it."""

    class Mode(models.TextChoices):
        # The values of payments.wechatpay.keys' PUBLIC_KEY_MODE and CERTIFICATE_MODE.
        PUBLIC_KEY = "public_key", "WeChat Pay public key"
        CERTIFICATE = "certificate", "platform certificates"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="merchant", editable=False)
    mchid = models.CharField("merchant id (mchid)", max_length=32)
    serial = models.CharField("merchant certificate serial", max_length=64)
    private_key_encrypted = models.TextField(editable=False)
    apiv3_key_encrypted = models.TextField(editable=False)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PUBLIC_KEY)
    public_key_id = models.CharField("WeChat Pay public key id", max_length=64, blank=True, default="")
    public_key_pem = models.TextField("WeChat Pay public key", blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MerchantManager()

    class Meta:
        verbose_name = "WeChat Pay merchant"
        ordering = ["tenant__app_id"]

    def __str__(self) -> str:
        return f"{self.mchid} for {self.tenant.app_id}"


class PlatformCertificate(models.Model):
    """A WeChat Pay platform certificate of a merchant, as /v3/certificates gave it (already decrypted).

    Stored here, not per process, so the whole fleet verifies with the same ones and downloads them once per
    refresh period (the periodic job), not once per process start.
    """

    mchid = models.CharField(max_length=32, db_index=True)
    serial = models.CharField(max_length=64)
    certificate_pem = models.TextField()
    effective_time = models.DateTimeField()
    expire_time = models.DateTimeField()
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mchid", "serial"], name="payments_control_certificate_mchid_serial")
        ]
        ordering = ["mchid", "-expire_time"]

    def __str__(self) -> str:
        return f"{self.mchid} {self.serial}"
