"""API tokens of mini-program users, bound to their tenant.

The tenant's own database is the only authority on a token: a token is its SHA-256 in that database's
`accounts_authtoken`, unexpired, joined to its user in one indexed query. Nothing about a token is cached
in Redis. A cache (token -> user id) could outlive what it describes: a retired and onboarded-again
tenant, or a database restored from a backup, starts its user ids at 1 again, and a cached id would then
name another person; it would also keep an expired or revoked token alive until its own TTL, and make a
logout depend on Redis. The query costs the same round trip as the user's row it replaces.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import AuthToken, MiniProgramUser


def _hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def token_issue(*, user: MiniProgramUser) -> str:
    raw_token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS)
    AuthToken.objects.create(key_hash=_hash(raw_token), user=user, expires_at=expires_at)
    return raw_token


# The status of the user's newest avatar upload, read in the token's query (a subquery) and kept on the user under
# this name: GET /api/v1/me shows it, and a second query for it was a quarter of that request's time
# (benchmarks/results/2026-12-01-perf.md). Through the reverse relation, so accounts imports no avatars code.
NEWEST_AVATAR_STATUS = "newest_avatar_status"


def _newest_avatar_status() -> dict[str, Subquery]:
    relation = MiniProgramUser._meta.fields_map.get("avatars")
    if relation is None or relation.related_model is None:  # no avatars app installed
        return {}
    uploads = relation.related_model._default_manager.filter(user=OuterRef("pk")).order_by("-id")
    return {NEWEST_AVATAR_STATUS: Subquery(uploads.values("status")[:1])}


def token_user(*, raw_token: str) -> MiniProgramUser | None:
    """The active tenant's user holding this token, or None for an unknown, expired or revoked token.

    The user carries NEWEST_AVATAR_STATUS as read by the same query ("" before any upload).
    """
    return (
        MiniProgramUser.objects.filter(tokens__key_hash=_hash(raw_token), tokens__expires_at__gt=timezone.now())
        .annotate(**_newest_avatar_status())
        .first()
    )


def token_revoke(*, raw_token: str) -> None:
    """Deletes the token's row: from the commit on, no request is served with it, and nothing can revive it."""
    AuthToken.objects.filter(key_hash=_hash(raw_token)).delete()
