"""The notifications the fake sends: TRANSACTION.SUCCESS and REFUND.*, encrypted and signed as WeChat Pay does."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from typing import Any

import requests

from payments.fake_server.state import FakePayState, Merchant, wechat_time
from payments.wechatpay.crypto import aes_gcm_encrypt
from payments.wechatpay.signing import SIGNTEST_PREFIX, signed_headers

SEND_TIMEOUT_SECONDS = 10

SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


def notification_build(
    merchant: Merchant,
    *,
    event_type: str,
    original_type: str,
    resource: dict[str, Any],
    tamper: str | None = None,
    signtest: bool = False,
    timestamp_offset: int = 0,
    serial: str | None = None,
) -> dict[str, Any]:
    """{"headers", "body"}: one notification, optionally spoilt as a refusal test needs it.

    tamper: "signature" (one character of it changed), "timestamp" (10 minutes old, validly signed),
    "ciphertext" (the body is signed, but its ciphertext does not decrypt), "body" (changed after signing).
    """
    nonce = secrets.token_hex(6)
    ciphertext = aes_gcm_encrypt(
        merchant.apiv3_key,
        nonce=nonce,
        plaintext=json.dumps(resource, ensure_ascii=False).encode(),
        associated_data=original_type,
    )
    if tamper == "ciphertext":
        ciphertext = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": wechat_time(),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": SUMMARIES.get(event_type, ""),
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    offset = -600 if tamper == "timestamp" else timestamp_offset
    headers = signed_headers(
        key=merchant.signing_key,
        serial=serial or merchant.signing_serial,
        body=body,
        timestamp=int(time.time()) + offset,
    )
    if tamper == "signature":
        signature = headers["Wechatpay-Signature"]
        headers["Wechatpay-Signature"] = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    if tamper == "body":
        body = body.replace(b'"summary"', b'"Summary"')
    if signtest:
        headers["Wechatpay-Signature"] = SIGNTEST_PREFIX + headers["Wechatpay-Signature"]
    return {"headers": headers, "body": body.decode()}


def deliver(state: FakePayState, url: str, notification: dict[str, Any], *, copies: int = 1) -> list[dict[str, Any]]:
    """POST the notification `copies` times at once; what each answered (recorded in state.deliveries too)."""
    results: list[dict[str, Any]] = [{} for _ in range(copies)]

    def send(index: int) -> None:
        headers = {**notification["headers"], "Content-Type": "application/json"}
        try:
            response = requests.post(
                url, data=notification["body"].encode(), headers=headers, timeout=SEND_TIMEOUT_SECONDS
            )
            results[index] = {"url": url, "status": response.status_code, "body": response.text[:500]}
        except requests.RequestException as error:
            results[index] = {"url": url, "status": 0, "body": type(error).__name__}

    threads = [threading.Thread(target=send, args=(index,), daemon=True) for index in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SEND_TIMEOUT_SECONDS + 1)
    with state.lock:
        state.deliveries.extend(results)
    return results


def deliver_later(state: FakePayState, url: str, notification: dict[str, Any], *, copies: int, delay: float) -> None:
    def later() -> None:
        time.sleep(delay)
        deliver(state, url, notification, copies=copies)

    threading.Thread(target=later, name="fake-pay-notify", daemon=True).start()
