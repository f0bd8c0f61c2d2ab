"""The bare WSGI baseline: no framework at all, what the platform's answers cost with nothing around them.

    GET /      the same JSON body as /api/v1/ping
    GET /me    GET /api/v1/me's work for one mini-program's database, by hand: the bearer token's SHA-256, the
               one SELECT the ORM sends (the token's user with the newest avatar's status), the same Redis round
               trip as the user throttle (one pipeline: INCR and EXPIRE of this window's counter, GET of the
               previous one), the same JSON fields; 401 for an unknown token.

/me uses the same drivers as Miniplex (PyMySQL, redis-py; cooperative under gunicorn's gevent worker, which
patches the standard library before loading this module) and a pool of the same size per process
(BARE_POOL_SIZE, Miniplex's DB_POOL_SIZE), without the ping on checkout, Django or DRF. The database is
BARE_DATABASE_URL (mysql://user:password@host:port/database), the Redis REDIS_URL, keys under CACHE_KEY_PREFIX.
Not product code: it is the floor the benchmark measures Miniplex's /me against (benchmarks/README.md).
"""

import hashlib
import json
import os
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

BODY = b'{"app_id": "wx0000000000000000"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
UNAUTHORIZED = b'{"error": {"code": "not_authenticated", "message": "The token is unknown."}}'

# The SQL Django's ORM sends for accounts.tokens.token_user (MySQL backend): the token's user with the newest
# avatar's status as a subquery, one statement, as GET /api/v1/me sends it.
USER_QUERY = (
    "SELECT `accounts_miniprogramuser`.`id`, `accounts_miniprogramuser`.`openid`, "
    "`accounts_miniprogramuser`.`unionid`, `accounts_miniprogramuser`.`nickname`, "
    "`accounts_miniprogramuser`.`avatar_url`, `accounts_miniprogramuser`.`phone`, "
    "`accounts_miniprogramuser`.`session_key_encrypted`, `accounts_miniprogramuser`.`created_at`, "
    "`accounts_miniprogramuser`.`updated_at`, (SELECT U0.`status` AS `status` FROM `avatars_avatar` U0 "
    "WHERE U0.`user_id` = (`accounts_miniprogramuser`.`id`) ORDER BY U0.`id` DESC LIMIT 1) AS `newest_avatar_status` "
    "FROM `accounts_miniprogramuser` "
    "INNER JOIN `accounts_authtoken` ON (`accounts_miniprogramuser`.`id` = `accounts_authtoken`.`user_id`) "
    "WHERE (`accounts_authtoken`.`expires_at` > %s AND `accounts_authtoken`.`key_hash` = %s) "
    "ORDER BY `accounts_miniprogramuser`.`id` ASC LIMIT 1"
)
AVATAR_STATES_SHOWN = {"pending": "pending", "review": "pending", "approved": "approved", "rejected": "rejected"}
AVATAR_STATES_SHOWN["unchecked"] = "unchecked"
THROTTLE_WINDOW_SECONDS = 1  # the benchmark's API_THROTTLE_RATE_USER is per second


class _Pool:
    """At most `size` PyMySQL connections of this process, opened on demand, reused last-in first-out."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        self.params = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "database": parts.path.lstrip("/"),
            "charset": "utf8mb4",
            "autocommit": True,
        }
        self.idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self.slots: queue.Queue[None] = queue.Queue()
        for _ in range(size):
            self.slots.put(None)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        import pymysql  # type: ignore[import-untyped]

        self.slots.get(timeout=20)
        try:
            try:
                conn = self.idle.get_nowait()
            except queue.Empty:
                conn = pymysql.connect(**self.params)
            try:
                yield conn
            except Exception:
                conn.close()
                raise
            self.idle.put(conn)
        finally:
            self.slots.put(None)


_state: dict[str, Any] = {}


def _clients() -> tuple[_Pool, Any]:
    """The process's pool and Redis client, made on the first /me (after gunicorn forked and gevent patched)."""
    if not _state:
        import redis

        size = int(os.environ.get("BARE_POOL_SIZE") or 8)
        _state["pool"] = _Pool(os.environ["BARE_DATABASE_URL"], size)
        redis_pool = redis.BlockingConnectionPool.from_url(
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            max_connections=int(os.environ.get("REDIS_MAX_CONNECTIONS") or 50),
            timeout=5,
        )
        _state["redis"] = redis.Redis(connection_pool=redis_pool)
        _state["prefix"] = os.environ.get("CACHE_KEY_PREFIX", "miniplex-bare") + ":bare"
    return _state["pool"], _state["redis"]


def _iso(value: datetime) -> str:
    return value.isoformat() + "Z"


def me(environ: dict) -> tuple[str, bytes]:
    """/me's work: the user of the bearer token with their avatar's state, the throttle's count; (status, body)."""
    auth = environ.get("HTTP_AUTHORIZATION", "").split()
    if len(auth) != 2 or auth[0].lower() != "bearer":
        return "401 Unauthorized", UNAUTHORIZED
    key_hash = hashlib.sha256(auth[1].encode()).hexdigest()
    pool, client = _clients()
    with pool.connection() as conn, conn.cursor() as cursor:
        cursor.execute(USER_QUERY, (datetime.utcnow(), key_hash))  # noqa: DTZ003 - MySQL keeps UTC, naive
        row = cursor.fetchone()
    if row is None:
        return "401 Unauthorized", UNAUTHORIZED
    window = int(time.time() // THROTTLE_WINDOW_SECONDS)
    key = f"{_state['prefix']}:throttle_user_{row[0]}"
    pipeline = client.pipeline(transaction=False)
    pipeline.incr(f"{key}:{window}")
    pipeline.expire(f"{key}:{window}", 2 * THROTTLE_WINDOW_SECONDS)
    pipeline.get(f"{key}:{window - 1}")
    pipeline.execute()
    user = {
        "id": row[0],
        "openid": row[1],
        "unionid": row[2],
        "nickname": row[3],
        "avatar_url": row[4],
        "phone": row[5],
        "avatar_state": AVATAR_STATES_SHOWN.get(row[9] or "", ""),
        "created_at": _iso(row[7]),
        "updated_at": _iso(row[8]),
    }
    return "200 OK", json.dumps(user).encode()


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/me":
        status, body = me(environ)
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", HEADERS)
    return [BODY]
