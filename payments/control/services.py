"""Writes of the merchants: set (checked, then stored encrypted), remove, and the platform certificates' refresh.

A door (command, admin, platform API) calls a service and, once it succeeded, writes its audit entry.
Nothing here logs or raises a secret: messages name what is wrong, never the value.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db import transaction

from payments.control.certificates import (
    CertificatesUndecryptable,
    DownloadedCertificate,
    platform_certificates_download,
    platform_certificates_store,
)
from payments.control.exceptions import MerchantCheckUnavailable, MerchantRejected
from payments.control.models import TenantMerchant
from payments.control.selectors import merchant_find, merchants_in_certificate_mode
from payments.wechatpay.client import PayClient
from payments.wechatpay.crypto import (
    APIV3_KEY_BYTES,
    KeyUnreadable,
    certificate_load,
    certificate_serial,
    private_key_load,
    public_key_load,
    same_key,
)
from payments.wechatpay.errors import AnswerNotVerified, PayError, PayUnavailable
from payments.wechatpay.keys import CERTIFICATE_MODE, PUBLIC_KEY_ID_PREFIX, PUBLIC_KEY_MODE, MerchantKeys
from payments.wechatpay.registry import merchant_keys_forget
from tenants.secrets import secret_decrypt, secret_encrypt
from tenants.selectors import tenant_get

logger = logging.getLogger(__name__)

MCHID_PATTERN = re.compile(r"[0-9]{6,32}")
SERIAL_PATTERN = re.compile(r"[0-9A-Fa-f]{8,64}")
PUBLIC_KEY_ID_PATTERN = re.compile(rf"{PUBLIC_KEY_ID_PREFIX}[0-9A-Za-z_]{{1,53}}")


@dataclass(frozen=True)
class MerchantChange:
    """What was stored, for the door's audit entry (no secret in it)."""

    merchant: TenantMerchant
    created: bool
    checked: bool  # WeChat Pay accepted a signed call with these keys
    certificates: int  # platform certificates stored (certificate mode)

    def audit_details(self) -> dict[str, object]:
        merchant = self.merchant
        return {
            "mchid": merchant.mchid,
            "serial": merchant.serial,
            "mode": merchant.mode,
            "public_key_id": merchant.public_key_id,
            "created": self.created,
            "checked_with_wechatpay": self.checked,
        }


def merchant_set(
    *,
    app_id: str,
    mchid: str,
    serial: str,
    private_key_pem: str | None,
    apiv3_key: str | None,
    public_key_pem: str | None = None,
    public_key_id: str | None = None,
    merchant_certificate_pem: str | None = None,
    check: bool = True,
) -> MerchantChange:
    """Store the tenant's merchant; None for the private key or APIv3 key keeps the stored one (admin edits).

    With a public key and its id: public-key mode; without: platform-certificate mode, whose certificates are
    downloaded here (which also proves the APIv3 key). Refused (MerchantRejected, nothing changed) when a
    value does not parse or the values do not belong together, and, with check, when WeChat Pay refuses them.
    """
    tenant = tenant_get(app_id=app_id)
    existing = merchant_find(app_id=tenant.app_id)
    mchid, serial = mchid.strip(), serial.strip().upper()
    _check_form(mchid=mchid, serial=serial)
    private_key = _private_key(private_key_pem, existing)
    apiv3 = _apiv3_key(apiv3_key, existing)
    if merchant_certificate_pem:
        _check_certificate(merchant_certificate_pem, serial=serial, private_key_pem=private_key)
    public_key_pem, public_key_id = _public_key(public_key_pem, public_key_id)
    mode = PUBLIC_KEY_MODE if public_key_id else CERTIFICATE_MODE
    keys = MerchantKeys(
        app_id=tenant.app_id,
        mchid=mchid,
        serial=serial,
        private_key=private_key_load(private_key),
        apiv3_key=apiv3.encode(),
        mode=mode,
        public_key_id=public_key_id,
        verify_keys={public_key_id: public_key_load(public_key_pem)} if public_key_id else {},
    )
    downloaded = _check_with_wechatpay(keys) if check or mode == CERTIFICATE_MODE else []
    with transaction.atomic():
        merchant, created = TenantMerchant.objects.update_or_create(
            tenant=tenant,
            defaults={
                "mchid": mchid,
                "serial": serial,
                "mode": mode,
                "public_key_id": public_key_id,
                "public_key_pem": public_key_pem,
                "private_key_encrypted": secret_encrypt(private_key),
                "apiv3_key_encrypted": secret_encrypt(apiv3),
            },
        )
        stored = len(downloaded)
        if downloaded:
            platform_certificates_store(mchid=mchid, certificates=downloaded)
    merchant_keys_forget(tenant.app_id)
    logger.info("WeChat Pay merchant of %s set: mchid %s, %s mode", tenant.app_id, mchid, mode)
    return MerchantChange(
        merchant=merchant, created=created, checked=check or mode == CERTIFICATE_MODE, certificates=stored
    )


def merchant_remove(*, app_id: str) -> TenantMerchant | None:
    """The tenant takes no more payments (its orders stay); returns what was removed."""
    merchant = merchant_find(app_id=tenant_get(app_id=app_id).app_id)
    if merchant is not None:
        merchant.delete()
        merchant_keys_forget(app_id)
    return merchant


def _check_form(*, mchid: str, serial: str) -> None:
    if not MCHID_PATTERN.fullmatch(mchid):
        raise MerchantRejected("The mchid is WeChat Pay's merchant number: digits only.")
    if not SERIAL_PATTERN.fullmatch(serial):
        raise MerchantRejected(
            "The serial is the merchant certificate's serial number in hexadecimal (apiclient_cert.pem; "
            "`openssl x509 -in apiclient_cert.pem -noout -serial`)."
        )


def _private_key(pem: str | None, existing: TenantMerchant | None) -> str:
    if not pem:
        if existing is None:
            raise MerchantRejected("The merchant's private key (apiclient_key.pem) is required.")
        return secret_decrypt(existing.private_key_encrypted)
    try:
        private_key_load(pem)
    except KeyUnreadable as error:
        raise MerchantRejected(f"The private key was refused: {error}.") from None
    return pem.strip() + "\n"


def _apiv3_key(value: str | None, existing: TenantMerchant | None) -> str:
    if not value:
        if existing is None:
            raise MerchantRejected("The APIv3 key is required.")
        return secret_decrypt(existing.apiv3_key_encrypted)
    value = value.strip()
    if len(value.encode()) != APIV3_KEY_BYTES:
        raise MerchantRejected(
            f"The APIv3 key has {APIV3_KEY_BYTES} bytes (set in the merchant platform, 账户中心 > API安全); "
            f"this one has {len(value.encode())}."
        )
    return value


def _check_certificate(pem: str, *, serial: str, private_key_pem: str) -> None:
    try:
        certificate = certificate_load(pem)
    except KeyUnreadable as error:
        raise MerchantRejected(f"The merchant certificate was refused: {error}.") from None
    if certificate_serial(certificate).lstrip("0") != serial.lstrip("0"):  # openssl may print a leading 0
        raise MerchantRejected(
            f"The serial does not match the merchant certificate, whose serial is {certificate_serial(certificate)}."
        )
    public = public_key_load(pem)
    if not same_key(public, private_key_load(private_key_pem).public_key()):
        raise MerchantRejected("The private key is not the merchant certificate's key.")


def _public_key(pem: str | None, key_id: str | None) -> tuple[str, str]:
    pem, key_id = (pem or "").strip(), (key_id or "").strip()
    if bool(pem) != bool(key_id):
        raise MerchantRejected(
            "WeChat Pay's public key and its id go together (both for public-key mode, neither for "
            "platform-certificate mode)."
        )
    if not key_id:
        return "", ""
    if not PUBLIC_KEY_ID_PATTERN.fullmatch(key_id):
        raise MerchantRejected(
            f"The public key id is WeChat Pay's {PUBLIC_KEY_ID_PREFIX}... (from the merchant platform)."
        )
    try:
        public_key_load(pem)
    except KeyUnreadable as error:
        raise MerchantRejected(f"WeChat Pay's public key was refused: {error}.") from None
    return pem + "\n", key_id


def _check_with_wechatpay(keys: MerchantKeys) -> list[DownloadedCertificate]:
    """A signed call WeChat Pay must accept: the certificates (certificate mode) or a probe (public-key mode)."""
    try:
        if keys.mode == CERTIFICATE_MODE:
            return platform_certificates_download(keys=keys)
        PayClient(keys).signature_probe()
        return []
    except CertificatesUndecryptable:
        raise MerchantRejected(
            "The APIv3 key does not decrypt WeChat Pay's platform certificates: it is not this merchant's."
        ) from None
    except AnswerNotVerified as error:
        raise MerchantRejected(
            f"WeChat Pay's answer does not verify with the key given ({error.message}): check WeChat Pay's public "
            "key and its id."
        ) from None
    except PayUnavailable as error:
        raise MerchantCheckUnavailable(f"WeChat Pay could not check the settings ({error.message}).") from None
    except PayError as error:
        if error.status == 401:
            raise MerchantRejected(
                f"WeChat Pay refused the signature ({error.code}): the mchid, the serial and the private key do "
                "not belong together."
            ) from None
        if keys.mode == CERTIFICATE_MODE and error.status == 404:
            raise _no_certificates() from None
        raise MerchantRejected(f"WeChat Pay refused the check: {error.code} {error.message}") from None


def _no_certificates() -> MerchantRejected:
    return MerchantRejected(
        "WeChat Pay has no platform certificate for this merchant: it uses WeChat Pay's public key; give "
        "--public-key-file and --public-key-id."
    )


def platform_certificates_refresh(*, merchant: TenantMerchant) -> int:
    """Download the merchant's certificates now and store them; returns how many serials were new."""
    from payments.control.selectors import merchant_keys_build

    keys = merchant_keys_build(merchant, certificates=[])
    return platform_certificates_store(mchid=merchant.mchid, certificates=platform_certificates_download(keys=keys))


def platform_certificates_refresh_all() -> dict[str, int]:
    """The periodic platform job: every certificate-mode mchid once (several tenants may share one)."""
    done: dict[str, int] = {}
    for merchant in merchants_in_certificate_mode():
        if merchant.mchid in done:
            continue
        try:
            done[merchant.mchid] = platform_certificates_refresh(merchant=merchant)
        except (PayError, CertificatesUndecryptable) as error:
            # One merchant's trouble must not keep the others' certificates old; the next period tries again.
            logger.warning("WeChat Pay certificates of mchid %s not refreshed: %s", merchant.mchid, error)
            done[merchant.mchid] = -1
    return done
