"""WeChat Pay platform certificates: downloaded from /v3/certificates, decrypted, verified, stored for the fleet.

The answer of /v3/certificates is signed by one of the certificates it carries, encrypted under the APIv3 key:
so the certificates are decrypted first (which only the APIv3 key's holder can do), and the answer's signature
is then checked with the one its Wechatpay-Serial names. The rows in the control database are what every
process verifies with; the periodic job keeps them current, once for the fleet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from payments.control.models import PlatformCertificate
from payments.wechatpay.client import PayClient
from payments.wechatpay.crypto import (
    DECRYPT_ERRORS,
    aes_gcm_decrypt,
    certificate_load,
    certificate_serial,
    public_key_load,
)
from payments.wechatpay.errors import AnswerNotVerified, NotificationRefused, PayUnavailable
from payments.wechatpay.keys import MerchantKeys
from payments.wechatpay.notifications import timestamp_check
from payments.wechatpay.signing import header_get, signature_verifies

logger = logging.getLogger(__name__)


class CertificatesUndecryptable(Exception):
    """The certificates do not decrypt with the APIv3 key: the key is wrong."""


@dataclass(frozen=True)
class DownloadedCertificate:
    serial: str
    pem: str
    effective_time: datetime
    expire_time: datetime


def platform_certificates_download(*, keys: MerchantKeys) -> list[DownloadedCertificate]:
    """Raises PayError (401 SIGN_ERROR: our key or serial), PayUnavailable, CertificatesUndecryptable."""
    response = PayClient(keys).certificates()
    try:
        payload = response.json()
    except ValueError:
        raise PayUnavailable("/v3/certificates: the answer is not JSON") from None
    found = [_certificate_decrypt(keys, entry) for entry in payload.get("data") or []]
    if not found:
        raise PayUnavailable("/v3/certificates: no certificate in the answer")
    by_serial = {certificate.serial: certificate for certificate in found}
    serial = header_get(response.headers, "Wechatpay-Serial")
    signer = by_serial.get(serial)
    if signer is None:
        raise AnswerNotVerified(f"/v3/certificates: signed with {serial[:64]!r}, which is not among the certificates")
    timestamp = header_get(response.headers, "Wechatpay-Timestamp")
    try:
        timestamp_check(timestamp)
    except NotificationRefused as refused:
        raise AnswerNotVerified(f"/v3/certificates: {refused.message}") from None
    if not signature_verifies(
        public_key_load(signer.pem),
        timestamp=timestamp,
        nonce=header_get(response.headers, "Wechatpay-Nonce"),
        body=response.content,
        signature=header_get(response.headers, "Wechatpay-Signature"),
    ):
        raise AnswerNotVerified("/v3/certificates: the answer's signature does not verify")
    return found


def _certificate_decrypt(keys: MerchantKeys, entry: dict[str, object]) -> DownloadedCertificate:
    encrypted = entry.get("encrypt_certificate")
    if not isinstance(encrypted, dict):
        raise PayUnavailable("/v3/certificates: an entry has no encrypt_certificate")
    try:
        pem = aes_gcm_decrypt(
            keys.apiv3_key,
            nonce=str(encrypted["nonce"]),
            ciphertext_b64=str(encrypted["ciphertext"]),
            associated_data=str(encrypted.get("associated_data") or ""),
        ).decode()
    except (*DECRYPT_ERRORS, KeyError) as error:
        raise CertificatesUndecryptable(type(error).__name__) from None
    certificate = certificate_load(pem)
    return DownloadedCertificate(
        serial=certificate_serial(certificate),
        pem=pem,
        effective_time=certificate.not_valid_before_utc,
        expire_time=certificate.not_valid_after_utc,
    )


def platform_certificates_store(*, mchid: str, certificates: list[DownloadedCertificate]) -> int:
    """Upsert by (mchid, serial); returns how many serials were new. Old ones stay until they expire, then go."""
    new = 0
    with transaction.atomic():
        PlatformCertificate.objects.filter(mchid=mchid, expire_time__lte=timezone.now()).delete()
        for certificate in certificates:
            _, created = PlatformCertificate.objects.update_or_create(
                mchid=mchid,
                serial=certificate.serial,
                defaults={
                    "certificate_pem": certificate.pem,
                    "effective_time": certificate.effective_time,
                    "expire_time": certificate.expire_time,
                },
            )
            new += int(created)
    if new:
        logger.info("WeChat Pay platform certificates of mchid %s: %d new", mchid, new)
    return new
