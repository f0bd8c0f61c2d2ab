"""Reads of the merchants and their platform certificates (control database)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from payments.control.models import PlatformCertificate, TenantMerchant
from payments.wechatpay.crypto import private_key_load, public_key_load
from payments.wechatpay.errors import MerchantNotConfigured
from payments.wechatpay.keys import MerchantKeys
from tenants.secrets import secret_decrypt


def merchant_get(*, app_id: str) -> TenantMerchant:
    merchant = TenantMerchant.objects.select_related("tenant").filter(tenant__app_id=app_id).first()
    if merchant is None:
        raise MerchantNotConfigured(f"{app_id} has no WeChat Pay merchant configured.")
    return merchant


def merchant_find(*, app_id: str) -> TenantMerchant | None:
    return TenantMerchant.objects.select_related("tenant").filter(tenant__app_id=app_id).first()


def merchants_in_certificate_mode() -> QuerySet[TenantMerchant]:
    return TenantMerchant.objects.filter(mode=TenantMerchant.Mode.CERTIFICATE).select_related("tenant")


def platform_certificates_of(*, mchid: str) -> QuerySet[PlatformCertificate]:
    return PlatformCertificate.objects.filter(mchid=mchid)


def platform_certificates_valid(*, mchid: str) -> QuerySet[PlatformCertificate]:
    """The ones WeChat Pay may still sign with (an expired certificate verifies nothing)."""
    return platform_certificates_of(mchid=mchid).filter(expire_time__gt=timezone.now())


def merchant_keys_load(*, app_id: str) -> MerchantKeys:
    """The merchant's keys, decrypted and parsed, with every key that may verify WeChat Pay's signatures."""
    merchant = merchant_get(app_id=app_id)
    return merchant_keys_build(merchant, certificates=list(platform_certificates_valid(mchid=merchant.mchid)))


def merchant_keys_build(merchant: TenantMerchant, *, certificates: list[PlatformCertificate]) -> MerchantKeys:
    verify_keys = {certificate.serial: public_key_load(certificate.certificate_pem) for certificate in certificates}
    if merchant.public_key_id and merchant.public_key_pem:
        # Public-key mode. A merchant moved from certificates keeps its stored ones, so both verify while WeChat
        # Pay signs with either during the migration (a growing share with the key, all of it from day 7).
        verify_keys[merchant.public_key_id] = public_key_load(merchant.public_key_pem)
    return MerchantKeys(
        app_id=merchant.tenant.app_id,
        mchid=merchant.mchid,
        serial=merchant.serial,
        private_key=private_key_load(secret_decrypt(merchant.private_key_encrypted)),
        apiv3_key=secret_decrypt(merchant.apiv3_key_encrypted).encode(),
        mode=merchant.mode,
        public_key_id=merchant.public_key_id,
        verify_keys=verify_keys,
    )
