"""API tokens of mini-program users, bound to their tenant.

A token is looked up in the active tenant's cache scope and database only, so a token of tenant A sent with
tenant B's AppID finds nothing. Steady state costs one Redis read (token -> user id); the database is asked
when Redis does not know the token or is unreachable.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from accounts.models import AuthToken, MiniProgramUser

logger = logging.getLogger(__name__)
# How long Redis remembers a token -> user mapping; revoking deletes it at once.
TOKEN_CACHE_SECONDS = 3600


def _hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _cache_key(key_hash: str) -> str:
    # The cache's key function adds the active tenant's AppID (core.cache.make_tenant_key).
    return f"auth-token:{key_hash}"


def token_issue(*, user: MiniProgramUser) -> str:
    raw_token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS)
    AuthToken.objects.create(key_hash=_hash(raw_token), user=user, expires_at=expires_at)
    return raw_token


def token_user_id(*, raw_token: str) -> int | None:
    """The id of the token's user in the active tenant, or None for an unknown, expired or revoked token."""
    key_hash = _hash(raw_token)
    try:
        user_id = cache.get(_cache_key(key_hash))
    except (ConnectionInterrupted, RedisError) as error:
        logger.warning("token cache unreachable, asking the database: %s", error)
        return _user_id_from_database(key_hash)
    if user_id is None:
        user_id = _user_id_from_database(key_hash)
        if user_id is not None:
            _remember(key_hash, user_id)
    return user_id


def _user_id_from_database(key_hash: str) -> int | None:
    row = AuthToken.objects.filter(key_hash=key_hash, expires_at__gt=timezone.now()).values("user_id", "expires_at")
    found = row.first()
    return found["user_id"] if found else None


def _remember(key_hash: str, user_id: int) -> None:
    try:
        cache.set(_cache_key(key_hash), user_id, timeout=TOKEN_CACHE_SECONDS)
    except (ConnectionInterrupted, RedisError) as error:
        logger.warning("token cache unreachable, not remembered: %s", error)


def token_revoke(*, raw_token: str) -> None:
    key_hash = _hash(raw_token)
    AuthToken.objects.filter(key_hash=key_hash).delete()
    # Not swallowed: a revoked token must not stay usable from the cache.
    cache.delete(_cache_key(key_hash))
