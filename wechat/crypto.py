"""Decrypting the encryptedData of wx.getUserInfo-style APIs and checking rawData signatures.

Algorithm (docs/wechat.md): AES-128-CBC, PKCS#7; key, iv and ciphertext base64; signature = sha1(rawData + session_key).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wechat.exceptions import WeChatDecryptError

_BLOCK_BYTES = 16


def _b64(value: str, *, name: str) -> bytes:
    """Strict base64 decoding; the error names the field, never its value."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WeChatDecryptError(f"{name} is not valid base64") from None


def _decrypt(*, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """AES-128-CBC decryption and PKCS#7 unpadding."""
    if len(key) != _BLOCK_BYTES or len(iv) != _BLOCK_BYTES:
        raise WeChatDecryptError("session_key and iv must be 16 bytes each")
    if not ciphertext or len(ciphertext) % _BLOCK_BYTES:
        raise WeChatDecryptError("encryptedData is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        # Bad padding is what a wrong or stale session_key looks like most of the time.
        raise WeChatDecryptError("bad padding (wrong session_key or tampered data)") from None


def decrypt_encrypted_data(*, session_key: str, iv: str, encrypted_data: str, app_id: str) -> dict[str, Any]:
    """The decrypted JSON object, after checking that its watermark names this AppID."""
    plaintext = _decrypt(
        key=_b64(session_key, name="session_key"),
        iv=_b64(iv, name="iv"),
        ciphertext=_b64(encrypted_data, name="encryptedData"),
    )
    try:
        payload = json.loads(plaintext)
    except ValueError:
        raise WeChatDecryptError("decrypted data is not JSON") from None
    if not isinstance(payload, dict):
        raise WeChatDecryptError("decrypted data is not a JSON object")
    watermark = payload.get("watermark")
    # Data of another mini-program decrypts fine with its own key: only the watermark ties it to this tenant.
    if not isinstance(watermark, dict) or watermark.get("appid") != app_id:
        raise WeChatDecryptError("watermark.appid does not match this AppID")
    return payload
