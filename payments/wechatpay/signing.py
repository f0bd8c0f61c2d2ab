"""Signatures of WeChat Pay v3: our requests' Authorization header, and WeChat's on answers and notifications.

Request: SHA256withRSA over "METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n" with the merchant key, sent as
`WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."`.
WeChat's: SHA256withRSA over "TIMESTAMP\\nNONCE\\nBODY\\n" in the Wechatpay-Signature/-Timestamp/-Nonce headers,
with the key named by Wechatpay-Serial. (docs/payments-merchants.md, "The protocol".)
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from payments.wechatpay.crypto import rsa_sign, rsa_verify

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def nonce_make() -> str:
    return secrets.token_hex(16).upper()


def request_message(method: str, path: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{body}\n"


def authorization_make(
    *, mchid: str, serial: str, private_key: rsa.RSAPrivateKey, method: str, path: str, body: str
) -> str:
    """The Authorization header of one request; `path` includes the query string, `body` is "" for a GET."""
    timestamp, nonce = str(int(time.time())), nonce_make()
    signature = rsa_sign(private_key, request_message(method, path, timestamp, nonce, body))
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


def authorization_parse(header: str) -> dict[str, str] | None:
    """The fields of an Authorization header of our schema, or None when it is not one."""
    schema, _, rest = header.partition(" ")
    if schema != SCHEMA:
        return None
    return dict(_AUTH_FIELD.findall(rest))


def answer_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def signed_headers(
    *, key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The Wechatpay-* headers WeChat Pay puts on an answer or a notification (the fake server's half)."""
    stamp, once = str(int(time.time()) if timestamp is None else timestamp), nonce or nonce_make()
    signature = rsa_sign(key, answer_message(stamp, once, body).decode())
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": once,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SCHEMA,
    }


def header_get(headers: Mapping[str, str], name: str) -> str:
    """A header by name whatever its case, also from Django's META (HTTP_WECHATPAY_SIGNATURE)."""
    wanted = name.lower()
    meta_name = "HTTP_" + name.upper().replace("-", "_")
    for key, value in headers.items():
        if key.lower() == wanted or key == meta_name:
            return str(value)
    return ""


def signature_verifies(key: rsa.RSAPublicKey, *, timestamp: str, nonce: str, body: bytes, signature: str) -> bool:
    return rsa_verify(key, answer_message(timestamp, nonce, body), signature)
