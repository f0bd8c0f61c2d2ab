from django.apps import AppConfig
from django.conf import settings


class PaymentsControlConfig(AppConfig):
    """Each tenant's WeChat Pay merchant and the platform certificates: in the control database."""

    name = "payments.control"
    label = "payments_control"
    verbose_name = "WeChat Pay merchants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from payments.control import checks  # noqa: F401 - registers the settings' system checks
        from payments.control.models import TenantMerchant
        from tenants.jobs.periodic import register_periodic
        from tenants.secret_rotation import register_encrypted_field

        # Certificate-mode merchants: the fleet downloads WeChat Pay's platform certificates once per period.
        register_periodic(
            name="wechatpay_certificates",
            every_seconds=settings.WECHATPAY_CERTIFICATES_REFRESH_SECONDS,
            func="payments.control.jobs.wechatpay_certificates_refresh",
        )
        # Fernet values under TENANT_SECRETS_KEYS: rotate_secrets_key re-encrypts them tenant by tenant (with a
        # tenant active, TenantMerchant.objects is that tenant's row only, so each row is visited once).
        register_encrypted_field(model=TenantMerchant, field="private_key_encrypted", label="payment private keys")
        register_encrypted_field(model=TenantMerchant, field="apiv3_key_encrypted", label="payment APIv3 keys")
