"""AppSecrets (and users' session_keys) encrypted at rest with Fernet (the cryptography library), keyed by
TENANT_SECRETS_KEYS.

MultiFernet: the first key encrypts, every key decrypts, so keys can be rotated without a flag day: put the new
key first, keep the old ones for reading, run `manage.py rotate_secrets_key` (every value re-encrypted under the
new key), then drop the old keys.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TENANT_SECRETS_KEYS])


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def secret_is_current(token: str) -> bool:
    """Whether the value is encrypted under the newest key (so a re-encryption would change nothing)."""
    try:
        Fernet(settings.TENANT_SECRETS_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def secret_reencrypt(token: str) -> str:
    """The same plain value under the newest key; InvalidToken when none of the keys can read it."""
    return _fernet().rotate(token.encode()).decode()
