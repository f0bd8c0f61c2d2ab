"""The access_token holder: one current stable token per AppID for a whole fleet of processes, kept in Redis.

WeChat's advice (docs/wechat.md): one central holder refreshes ahead of expiry and on 40001/42001, and every worker
reads the token from shared storage; processes that refresh on their own overwrite each other's tokens.
The same holder serves the open platform's tokens (docs/open-platform.md): given a `fetch` instead of a
client factory, it holds the component_access_token or the authorizer tokens, fetched however `fetch` does it.
Keys: ``{prefix}:token:{app_id}`` (the token), ``{prefix}:token-lock:{app_id}`` (who refreshes),
``{prefix}:force-refresh:{app_id}`` (a rolling day of force refreshes). Tokens are never logged.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeGuard, TypeVar

from redis import Redis
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from core import metrics
from wechat import conf
from wechat.client import WeChatClient
from wechat.exceptions import (
    WeChatError,
    WeChatQuotaExceeded,
    WeChatRateLimited,
    WeChatTokenInvalid,
    WeChatUnavailable,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
ClientFactory = Callable[[str], WeChatClient]
# fetch(app_id, force) -> (token, seconds it stays valid); force: the current token was rejected, get another.
TokenFetch = Callable[[str, bool], tuple[str, int]]
Ready = Callable[["_StoredToken | None"], TypeGuard["_StoredToken"]]

# WeChat renews a stable token 5 minutes before it expires; refreshing then gets the new one.
REFRESH_MARGIN_SECONDS = 300
# stable_token with force_refresh=true: at most 20 a day, at least 30 s apart (docs/wechat.md).
FORCE_REFRESH_DAILY_LIMIT = 20
FORCE_REFRESH_SPACING_SECONDS = 30.0
_DAY_SECONDS = 86_400

# Check and record one force refresh atomically, in a sorted set of claim times (a rolling 24 h window).
_CLAIM_FORCE_REFRESH = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if last[2] and now - tonumber(last[2]) < tonumber(ARGV[4]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class _StoredToken:
    """The Redis record of one AppID's token; times are epoch seconds."""

    token: str
    expires_at: float
    refresh_at: float

    @classmethod
    def from_redis(cls, raw: bytes | str | None) -> _StoredToken | None:
        """The record, or None when missing or unreadable (then it is simply fetched again)."""
        if raw is None:
            return None
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError):
            logger.warning("unreadable access_token record in Redis; fetching a new one")
            return None

    def to_redis(self) -> str:
        """JSON for Redis."""
        return json.dumps(asdict(self))


class AccessTokenHolder:
    """Serves each AppID's access_token from Redis; exactly one process refreshes it at a time."""

    def __init__(
        self,
        redis: Redis,
        *,
        client_factory: ClientFactory | None = None,
        fetch: TokenFetch | None = None,
        force_limited: bool | Callable[[str], bool] = True,
        key_prefix: str | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        lock_timeout: float = 15.0,
        wait_timeout: float = 8.0,
        poll_interval: float = 0.05,
        force_daily_limit: int = FORCE_REFRESH_DAILY_LIMIT,
        force_spacing: float = FORCE_REFRESH_SPACING_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._fetch = fetch or _stable_token_fetch(client_factory)
        # stable_token's force_refresh is counted (20 a day, 30 s apart); other tokens are simply fetched again
        # (a callable tells, per AppID, whether its token is a stable token).
        self._force_limited = force_limited
        self._prefix = key_prefix if key_prefix is not None else conf.get_redis_key_prefix()
        self._refresh_margin = refresh_margin
        # lock_timeout frees the lock of a crashed refresher; it must outlast one WeChat call.
        self._lock_timeout = lock_timeout
        self._wait_timeout = wait_timeout
        self._poll_interval = poll_interval
        self._force_daily_limit = force_daily_limit
        self._force_spacing = force_spacing
        self._clock = clock
        self._claim_script = redis.register_script(_CLAIM_FORCE_REFRESH)

    def token_key(self, app_id: str) -> str:
        """The Redis key holding the AppID's token record."""
        return self._key("token", app_id)

    def get_token(self, app_id: str) -> str:
        """The AppID's current access_token, refreshed first when missing or near expiry."""
        stored = self._read(app_id)
        if self._is_fresh(stored):
            return stored.token
        return self._refresh_or_wait(
            app_id, ready=self._is_fresh, refresh=lambda current: self._refresh_due(app_id, current), stale=stored
        )

    def token_rejected(self, app_id: str, bad_token: str) -> str:
        """Replace a token WeChat answered 40001/42001 to, once however many callers report it; returns the new one."""

        def replaced(stored: _StoredToken | None) -> TypeGuard[_StoredToken]:
            return stored is not None and stored.token != bad_token

        return self._refresh_or_wait(
            app_id, ready=replaced, refresh=lambda current: self._replace_rejected(app_id, current)
        )

    def call_with_token(self, app_id: str, fn: Callable[[str], T]) -> T:
        """fn(token); on WeChatTokenInvalid, report the token and retry once with its replacement."""
        token = self.get_token(app_id)
        try:
            return fn(token)
        except WeChatTokenInvalid as exc:
            # Rotated elsewhere or revoked by WeChat. One retry only: a second rejection is a real failure.
            logger.info("access_token of app_id=%s rejected (errcode %s); replacing it", app_id, exc.errcode)
            fresh = self.token_rejected(app_id, token)
        return fn(fresh)

    def _key(self, kind: str, app_id: str) -> str:
        return f"{self._prefix}:{kind}:{app_id}"

    def _read(self, app_id: str) -> _StoredToken | None:
        return _StoredToken.from_redis(self._redis.get(self._key("token", app_id)))

    def _is_fresh(self, stored: _StoredToken | None) -> TypeGuard[_StoredToken]:
        return stored is not None and self._clock() < stored.refresh_at

    def _is_valid(self, stored: _StoredToken | None) -> TypeGuard[_StoredToken]:
        return stored is not None and self._clock() < stored.expires_at

    def _refresh_or_wait(
        self,
        app_id: str,
        *,
        ready: Ready,
        refresh: Callable[[_StoredToken | None], str],
        stale: _StoredToken | None = None,
    ) -> str:
        """Run refresh under the AppID's lock, or wait until the lock's holder has stored a ready token."""
        lock = self._redis.lock(self._key("token-lock", app_id), timeout=self._lock_timeout)
        deadline = time.monotonic() + self._wait_timeout
        while True:
            if lock.acquire(blocking=False):
                return self._under_lock(lock, app_id, ready=ready, refresh=refresh)
            if self._is_valid(stale):
                # Someone else is refreshing ahead of expiry; the current token still works meanwhile.
                return stale.token
            stored = self._read(app_id)
            if ready(stored):
                return stored.token
            if time.monotonic() >= deadline:
                raise WeChatUnavailable(f"access_token of {app_id}: refresh by another process took too long")
            metrics.token_lock_waited(self._poll_interval)
            time.sleep(self._poll_interval)

    def _under_lock(
        self, lock: Lock, app_id: str, *, ready: Ready, refresh: Callable[[_StoredToken | None], str]
    ) -> str:
        """Re-read under the lock (another process may just have refreshed) and refresh only if still needed."""
        try:
            stored = self._read(app_id)
            if ready(stored):
                return stored.token
            return refresh(stored)
        finally:
            try:
                lock.release()
            except LockNotOwnedError:
                logger.warning("access_token lock of app_id=%s expired during the refresh", app_id)

    def _refresh_due(self, app_id: str, current: _StoredToken | None) -> str:
        """A normal fetch; while WeChat fails, a still valid current token keeps being served."""
        try:
            return self._fetch_and_store(app_id, force=False)
        except WeChatError as exc:
            if not self._is_valid(current):
                raise
            logger.warning("access_token refresh of app_id=%s failed (errcode %s); keeping it", app_id, exc.errcode)
            return current.token

    def _replace_rejected(self, app_id: str, current: _StoredToken | None) -> str:
        """force_refresh while within WeChat's limits, else a normal fetch."""
        limited = self._force_limited(app_id) if callable(self._force_limited) else self._force_limited
        if not limited:
            return self._fetch_and_store(app_id, force=True)
        # Nothing stored: it expired or was deleted, and a normal fetch already gives the current token.
        force = current is not None and self._claim_force_refresh(app_id)
        if current is not None and not force:
            logger.warning("force_refresh limit reached for app_id=%s; normal fetch instead", app_id)
        try:
            return self._fetch_and_store(app_id, force=force)
        except (WeChatRateLimited, WeChatQuotaExceeded):
            if not force:
                raise
            # WeChat counts every force refresh of the AppID, ours and any it saw that we did not record
            # (another environment on the same AppID, a lost Redis): it refused, a normal fetch still answers.
            logger.warning("force_refresh refused by WeChat for app_id=%s; normal fetch instead", app_id)
            return self._fetch_and_store(app_id, force=False)

    def _claim_force_refresh(self, app_id: str) -> bool:
        """Record one force refresh if the rolling day's count and the spacing allow it."""
        now = self._clock()
        args: list[float | int | str] = [
            now,
            _DAY_SECONDS,
            self._force_daily_limit,
            self._force_spacing,
            f"{now}:{uuid.uuid4().hex}",
        ]
        return bool(self._claim_script(keys=[self._key("force-refresh", app_id)], args=args))

    @metrics.observe_token_refresh
    def _fetch_and_store(self, app_id: str, *, force: bool) -> str:
        """Ask WeChat for the token and store it with its expiry and refresh times."""
        token, expires_in = self._fetch(app_id, force)
        now = self._clock()
        # A token handed out inside the margin is refreshed halfway through instead of on every call.
        refresh_in = max(expires_in - self._refresh_margin, expires_in / 2)
        stored = _StoredToken(token=token, expires_at=now + expires_in, refresh_at=now + refresh_in)
        self._redis.set(self._key("token", app_id), stored.to_redis(), ex=max(int(expires_in), 1))
        logger.info("access_token of app_id=%s fetched (force_refresh=%s, expires_in=%s)", app_id, force, expires_in)
        return token


def _stable_token_fetch(client_factory: ClientFactory | None) -> TokenFetch:
    """The classic holder's fetch: the AppID's stable token, with its own AppSecret."""
    if client_factory is None:
        raise TypeError("AccessTokenHolder needs a client_factory or a fetch")
    return lambda app_id, force: client_factory(app_id).fetch_stable_token(force_refresh=force)
