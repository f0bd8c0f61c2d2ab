"""Deterministic identities of the fake server and a builder of valid encryptedData, for tests."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

LOGIN_CODE_PREFIX = "code-"
PHONE_CODE_PREFIX = "phone-"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _person(code: str) -> str:
    """The user behind a login code: "code-<x>" and "code-<x>~<n>" are the same person logging in again."""
    return code.removeprefix(LOGIN_CODE_PREFIX).split("~", 1)[0]


def fake_openid(app_id: str, code: str) -> str:
    """The openid the fake gives for login code "code-<x>": "openid-<x>-<AppID hash>", so it differs per AppID."""
    return f"openid-{_person(code)}-{_digest(app_id)[:8]}"


def fake_unionid(code: str) -> str:
    """The unionid for login code "code-<x>" (the same for every AppID, like a real Open Platform account)."""
    return f"unionid-{_person(code)}"


def fake_phone_number(code: str) -> str:
    """The phone number for phone code "phone-<x>": <x> itself when it is 5-15 digits, else one derived from it."""
    suffix = code.removeprefix(PHONE_CODE_PREFIX)
    if suffix.isdigit() and 5 <= len(suffix) <= 15:
        return suffix
    return "139" + str(int(_digest(suffix), 16))[:8]


def encrypt_for_tests(
    *, session_key: str, payload: Mapping[str, Any] | bytes, iv: bytes | None = None
) -> tuple[str, str]:
    """(encryptedData, iv) as WeChat sends them: AES-128-CBC, PKCS#7, base64, for a payload (dict or raw bytes)."""
    plaintext = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(ciphertext).decode(), base64.b64encode(iv).decode()
