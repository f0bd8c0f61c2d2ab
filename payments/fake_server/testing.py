"""Merchants for tests and the demo: a merchant's own keys and certificate, registered with the fake and in Miniplex."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding

from payments.fake_server import FakePayServer
from payments.fake_server.keys import merchant_certificate_for_tests, merchant_keypair_for_tests
from payments.wechatpay.crypto import certificate_serial, private_key_pem, public_key_pem
from payments.wechatpay.keys import CERTIFICATE_MODE, PUBLIC_KEY_MODE, MerchantKeys

MCHIDS = {"wx00000000000000a1": "1900000101", "wx00000000000000b2": "1900000202", "wx00000000000000c3": "1900000303"}


@dataclass(frozen=True)
class MerchantCredentials:
    """What a merchant holds: apiclient_key.pem, apiclient_cert.pem (its serial) and the APIv3 key."""

    mchid: str
    private_key_pem: str
    certificate_pem: str
    serial: str
    apiv3_key: str
    public_key_pem: str  # the merchant's public key, which WeChat Pay knows from the certificate


def merchant_credentials(seed: str, *, mchid: str = "1900000999") -> MerchantCredentials:
    key, certificate = merchant_keypair_for_tests(seed), merchant_certificate_for_tests(seed)
    return MerchantCredentials(
        mchid=mchid,
        private_key_pem=private_key_pem(key),
        certificate_pem=certificate.public_bytes(Encoding.PEM).decode(),
        serial=certificate_serial(certificate),
        apiv3_key=(seed * 32)[:32] if seed else "k" * 32,
        public_key_pem=public_key_pem(key),
    )


@dataclass(frozen=True)
class ConfiguredMerchant:
    """A tenant configured as a merchant in the fake and in Miniplex."""

    app_id: str
    mchid: str
    mode: str
    credentials: MerchantCredentials
    wechatpay: dict[str, object]  # what the fake answered register_merchant with

    @property
    def keys(self) -> MerchantKeys:
        from payments.wechatpay.registry import merchant_keys_for

        return merchant_keys_for(self.app_id)


def merchant_configure(
    server: FakePayServer, app_id: str, *, mode: str = PUBLIC_KEY_MODE, mchid: str | None = None, seed: str = ""
) -> ConfiguredMerchant:
    """Register the merchant with the fake, then set it in Miniplex through the service (checked with the fake)."""
    from payments.control.services import merchant_set

    mchid = mchid or MCHIDS.get(app_id, "1900000999")
    credentials = merchant_credentials(seed or mchid, mchid=mchid)
    configured = server.control.register_merchant(
        mchid, app_id, credentials.public_key_pem, credentials.serial, credentials.apiv3_key, mode=mode
    )
    merchant_set(
        app_id=app_id,
        mchid=mchid,
        serial=credentials.serial,
        private_key_pem=credentials.private_key_pem,
        apiv3_key=credentials.apiv3_key,
        public_key_pem=str(configured["public_key_pem"]) if mode == PUBLIC_KEY_MODE else None,
        public_key_id=str(configured["public_key_id"]) if mode == PUBLIC_KEY_MODE else None,
        merchant_certificate_pem=credentials.certificate_pem,
    )
    return ConfiguredMerchant(app_id=app_id, mchid=mchid, mode=mode, credentials=credentials, wechatpay=configured)


def merchants_emptied() -> None:
    from payments.control.models import PlatformCertificate, TenantMerchant
    from payments.wechatpay.registry import merchant_keys_forget

    TenantMerchant.objects.all().delete()
    PlatformCertificate.objects.all().delete()
    merchant_keys_forget()


BOTH_MODES = (PUBLIC_KEY_MODE, CERTIFICATE_MODE)
