"""Deterministic identities of the fake server, for tests."""

from __future__ import annotations

import hashlib

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
