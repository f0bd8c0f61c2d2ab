"""Opening a WeChat Pay notification: every check that decides whether we believe it, in a fixed order.

1. a `WECHATPAY/SIGNTEST/` signature is WeChat's probe of our verification: refused (answering it 2xx would tell
   WeChat we accept any signature);
2. a Wechatpay-Timestamp more than 5 minutes from our clock: refused (a replay of an old, genuinely signed body);
3. the signature, with the key named by Wechatpay-Serial (the public key's PUB_KEY_ID_... or a platform
   certificate's serial; an unknown serial re-reads the merchant once, a certificate downloaded meanwhile);
4. the resource, AEAD_AES_256_GCM under the APIv3 key.
The caller (the notify view) then checks appid, mchid, out_trade_no and amount against its own records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from payments.wechatpay import conf
from payments.wechatpay.crypto import DECRYPT_ERRORS, aes_gcm_decrypt
from payments.wechatpay.errors import NotificationRefused
from payments.wechatpay.keys import CERTIFICATE_MODE, MerchantKeys
from payments.wechatpay.signing import SIGNTEST_PREFIX, header_get, signature_verifies


def notification_open(keys: MerchantKeys, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The decrypted resource with the notification's "event_type" (and "notification_id"); NotificationRefused."""
    signature = header_get(headers, "Wechatpay-Signature")
    timestamp = header_get(headers, "Wechatpay-Timestamp")
    nonce = header_get(headers, "Wechatpay-Nonce")
    serial = header_get(headers, "Wechatpay-Serial")
    if signature.startswith(SIGNTEST_PREFIX):
        raise NotificationRefused(400, "signature probe (WECHATPAY/SIGNTEST) refused")
    if not (signature and timestamp and nonce and serial):
        raise NotificationRefused(400, "Wechatpay-Signature, -Timestamp, -Nonce and -Serial are all required")
    timestamp_check(timestamp)
    key = keys.verify_key(serial) or _key_after_reload(keys, serial)
    if key is None:
        raise NotificationRefused(401, f"no WeChat Pay key of this merchant has the serial {serial[:64]!r}")
    if not signature_verifies(key, timestamp=timestamp, nonce=nonce, body=body, signature=signature):
        raise NotificationRefused(401, "the signature does not verify")
    return _resource_decrypt(keys, body)


def timestamp_check(timestamp: str) -> None:
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise NotificationRefused(400, "Wechatpay-Timestamp is not a number") from None
    if abs(time.time() - signed_at) > conf.get_window_seconds():
        raise NotificationRefused(400, "Wechatpay-Timestamp is more than 5 minutes off")


def _key_after_reload(keys: MerchantKeys, serial: str) -> Any:
    """A platform certificate stored since this process loaded the merchant (the periodic job or a peer)."""
    if keys.mode != CERTIFICATE_MODE:
        return None
    from payments.wechatpay.registry import merchant_keys_for

    return merchant_keys_for(keys.app_id, fresh=True).verify_key(serial)


def _resource_decrypt(keys: MerchantKeys, body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
        resource = envelope["resource"]
        plain = aes_gcm_decrypt(
            keys.apiv3_key,
            nonce=str(resource["nonce"]),
            ciphertext_b64=str(resource["ciphertext"]),
            associated_data=str(resource.get("associated_data") or ""),
        )
        opened = json.loads(plain)
    except (*DECRYPT_ERRORS, KeyError, TypeError) as error:
        raise NotificationRefused(400, f"the resource does not decrypt ({type(error).__name__})") from None
    if not isinstance(opened, dict):
        raise NotificationRefused(400, "the resource is not a JSON object")
    return {**opened, "event_type": str(envelope.get("event_type", "")), "notification_id": str(envelope.get("id", ""))}
