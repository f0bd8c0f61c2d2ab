"""AppSecrets encrypted at rest with Fernet (the cryptography library), keyed by TENANT_SECRETS_KEYS.

MultiFernet: the first key encrypts, every key decrypts, so keys can be rotated without a flag day.
"""

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TENANT_SECRETS_KEYS])


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
