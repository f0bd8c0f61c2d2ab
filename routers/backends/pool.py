"""A bounded per-process pool of MySQL connections under Django's backends (SQLAlchemy's QueuePool).

Why: under gevent, Django keeps one connection per greenlet; with CONN_MAX_AGE > 0 each greenlet abandons its
connection when it ends and MariaDB runs out of connections, and with CONN_MAX_AGE = 0 every request pays a new
connection (measured: docs/connections.md). With a pool, Django still closes at the end of every request
(CONN_MAX_AGE is 0 for pooled aliases), but "close" hands the raw connection back to the pool:

- one owner at a time: a connection is checked out by exactly one DatabaseWrapper until it is closed;
- a connection closed inside a transaction, with autocommit off, or after a database error is really closed;
- a connection idle longer than `ping_after` seconds is pinged before it is handed out, and replaced if dead;
  so is every connection returned before the pool last saw a database error (a restarted server kills them
  all, and the first request to find one dead must be the last);
- a request hands its connections back before it waits on another service (release_pooled_connections,
  called by the WeChat client): a slow outbound call of one tenant never holds a connection another needs;
- a gevent process always has a pool: its size defaults to GEVENT_POOL_SIZE there, and a size of 0 under
  gevent refuses to start (require_pool_under_gevent);
- at most `size + max_overflow` connections per alias and process; more callers wait up to `timeout` seconds
  (cooperatively under gevent: the pool's locks are the monkey-patched ones), then get an OperationalError that
  the API answers as 503 service_unavailable.

QueuePool is used bare, with no SQLAlchemy engine or dialect; the DatabaseWrapper opens the raw connections.
"""

import ipaddress
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.pool import QueuePool

from core import metrics

# Attribute set on a raw connection once Django's per-connection session setup has run on it.
INITIALIZED = "miniplex_initialized"
# SERVER_STATUS_IN_TRANS of the MySQL protocol: the server says a transaction is open.
SERVER_STATUS_IN_TRANS = 1
# The pool size of a gevent process when DB_POOL_SIZE is not set (master's 8).
GEVENT_POOL_SIZE = 8


def gevent_patched() -> bool:
    """Whether gevent has monkey-patched this process's sockets (gunicorn's gevent worker does before loading us)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def default_pool_size() -> int:
    """DB_POOL_SIZE's default, by the kind of process: a pool under gevent, Django's own connections elsewhere.

    Under gevent, Django's connections are per greenlet: with CONN_MAX_AGE > 0 each greenlet leaves its own behind
    until MariaDB's max_connections runs out and requests fail (figures: docs/connections.md). Threads and
    processes (sync, gthread, rq, commands) keep one per thread, which Django bounds itself.
    """
    return GEVENT_POOL_SIZE if gevent_patched() else 0


def require_pool_under_gevent(*, pool: dict[str, Any], databases: dict[str, dict[str, Any]]) -> None:
    """Refuse to start a gevent process on MySQL without a pool, naming the variable."""
    uses_mysql = any("mysql" in database["ENGINE"] for database in databases.values())
    if uses_mysql and not pool.get("size") and gevent_patched():
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DB_POOL_SIZE=0 under gevent: every greenlet would open MySQL connections of its own until the server's "
            f"max_connections runs out. Set DB_POOL_SIZE to 1 or more (unset, it is {GEVENT_POOL_SIZE} under gevent)."
        )


@dataclass(frozen=True, slots=True)
class PoolSettings:
    size: int
    max_overflow: int = 0
    timeout: float = 20.0
    recycle: int = 3600
    ping_after: float = 10.0

    @property
    def budget(self) -> int:
        """The most connections this pool holds at once."""
        return self.size + self.max_overflow


def pool_settings(options: dict[str, Any] | None) -> PoolSettings | None:
    """The POOL entry of a DATABASES alias as PoolSettings; None (no pool) when absent or of size 0."""
    if not options or not options.get("size"):
        return None
    return PoolSettings(**options)


_pools: dict[str, QueuePool] = {}
_pools_lock = threading.Lock()
# Per alias: when (time.monotonic) a connection of the pool last had a database error.
_last_error_at: dict[str, float] = {}
# The parameters of the connection being opened by this greenlet or thread, read by the pool's creator.
_connect_params: ContextVar[tuple[Any, dict[str, Any]] | None] = ContextVar("miniplex_connect_params", default=None)


def _forget_pools_after_fork() -> None:
    # A forked child (an rq work horse) must not share its parent's sockets: it starts with no pool and
    # leaves the parent's connections alone (closing them would send COM_QUIT on the parent's sockets).
    _pools.clear()
    _last_error_at.clear()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _create_raw_connection() -> Any:
    pending = _connect_params.get()
    if pending is None:
        raise RuntimeError("the pool opens connections only inside PooledConnectionMixin.get_new_connection")
    wrapper, params = pending
    metrics.db_connection_opened(wrapper.alias)
    return wrapper.open_raw_connection(params)


def _needs_ping(alias: str, settings: PoolSettings, idle_since: float | None) -> bool:
    if idle_since is None:  # just opened
        return False
    # Returned before the pool's last error: the server may have gone away since (a restart kills every
    # connection, and each would otherwise fail its next request once).
    returned_before_error = idle_since <= _last_error_at.get(alias, float("-inf"))
    return returned_before_error or time.monotonic() - idle_since >= settings.ping_after


def _ping_idle_connection(alias: str, settings: PoolSettings) -> Any:
    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not _needs_ping(alias, settings, record.info.get("checked_in_at")):
            return
        try:
            if type(dbapi_connection).__module__.startswith("pymysql"):
                dbapi_connection.ping(reconnect=False)  # PyMySQL would reconnect silently by default
            else:
                dbapi_connection.ping()  # mysqlclient never reconnects (its argument is deprecated)
        except Exception as error:  # any driver error means "dead": the pool opens another one
            # SQLAlchemy's documented pessimistic disconnect handling: the pool discards it and retries.
            raise sqlalchemy_exc.DisconnectionError(str(error)) from error

    return on_checkout


def _remember_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def get_pool(alias: str, settings: PoolSettings) -> QueuePool:
    pool = _pools.get(alias)
    if pool is not None:
        return pool
    with _pools_lock:
        if alias not in _pools:
            pool = QueuePool(
                _create_raw_connection,
                pool_size=settings.size,
                max_overflow=settings.max_overflow,
                timeout=settings.timeout,
                recycle=settings.recycle,
                # Returned connections are in autocommit with no open transaction (others are closed instead),
                # so the pool's ROLLBACK on return would be a wasted round trip per request.
                reset_on_return=None,
                use_lifo=True,  # the most recently used connections stay warm; the others age out by recycle
            )
            event.listen(pool, "checkout", _ping_idle_connection(alias, settings))
            event.listen(pool, "checkin", _remember_checkin)
            _pools[alias] = pool
        return _pools[alias]


def release_pooled_connections(wrappers: Iterable[Any] | None = None) -> list[str]:
    """Hand this thread's (greenlet's) pooled connections back to their pools, outside a transaction; the aliases.

    For a request about to wait on another service: its connections serve other requests meanwhile (a slow
    WeChat call of one tenant held every connection of the pool, and other tenants' requests waited seconds for
    one). The next query checks a connection out again and points it at the active tenant as usual. Connections
    inside a transaction, unpooled ones and those of a process without Django settings are left as they are.
    """
    if wrappers is None:
        from django.conf import settings

        if not settings.configured:
            return []
        from django.db import connections

        wrappers = connections.all(initialized_only=True)
    released = []
    for connection in wrappers:
        if isinstance(connection, PooledConnectionMixin) and connection.releasable():
            connection.close()
            released.append(connection.alias)
    return released


@contextmanager
def _opening(wrapper: Any, params: dict[str, Any]) -> Iterator[None]:
    token = _connect_params.set((wrapper, params))
    try:
        yield
    finally:
        _connect_params.reset(token)


def is_private_host(host: str | None) -> bool:
    """Loopback or a private network: where PyMySQL's TLS attempt (CPU on every connect, docs/connections.md)
    buys nothing."""
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_private
    except ValueError:
        return False


class PooledConnectionMixin:
    """Mixed into a Django MySQL DatabaseWrapper whose settings may carry POOL (routers.databases)."""

    settings_dict: dict[str, Any]
    alias: str
    connection: Any
    Database: Any
    errors_occurred: bool
    in_atomic_block: bool
    needs_rollback: bool
    close: Callable[[], None]  # Django's DatabaseWrapper.close, called on a wrapper known only as this mixin

    _pool_checkout: Any = None
    _pool_discard: bool = False

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()  # type: ignore[misc]
        if self.Database.__name__ == "pymysql" and "ssl" not in params and is_private_host(params.get("host")):
            params.setdefault("ssl_disabled", True)
        return params

    def open_raw_connection(self, conn_params: dict[str, Any]) -> Any:
        """A really new connection to the server (the pool's creator, or every connect without a pool)."""
        return super().get_new_connection(conn_params)  # type: ignore[misc]

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        settings = pool_settings(self.settings_dict.get("POOL"))
        if settings is None:
            return self.open_raw_connection(conn_params)
        try:
            with _opening(self, conn_params), metrics.db_pool_checkout(self.alias):
                checkout = get_pool(self.alias, settings).connect()
        except sqlalchemy_exc.TimeoutError as error:
            # A Database error, so that Django wraps it as django.db.OperationalError: answered as 503.
            raise self.Database.OperationalError(
                f"{self.alias}: no free connection in the pool of {settings.budget} after {settings.timeout:g} s"
            ) from error
        except self.Database.Error:
            _last_error_at[self.alias] = time.monotonic()  # the server is unreachable: check the idle ones later
            raise
        self._pool_checkout = checkout
        self._pool_discard = False
        return checkout.dbapi_connection

    def init_connection_state(self) -> None:
        # Session settings (isolation level, SQL_AUTO_IS_NULL) are the same for every checkout of an alias:
        # set them once per raw connection, not once per request.
        if getattr(self.connection, INITIALIZED, False):
            return
        super().init_connection_state()  # type: ignore[misc]
        setattr(self.connection, INITIALIZED, True)

    def close_if_unusable_or_obsolete(self) -> None:
        if self.connection is not None and self.errors_occurred:
            # Django pings and keeps a connection that survived an error; the pool does not keep it.
            self._pool_discard = True
        super().close_if_unusable_or_obsolete()  # type: ignore[misc]

    def releasable(self) -> bool:
        """Checked out of the pool, outside a transaction and fit to go back to it."""
        return (
            self._pool_checkout is not None
            and self.connection is not None
            and not self.in_atomic_block
            and not self._must_discard()
        )

    def _close(self) -> None:
        checkout = self._pool_checkout
        if checkout is None:
            super()._close()  # type: ignore[misc]
            return
        self._pool_checkout = None
        metrics.db_pool_returned(self.alias)
        if self._must_discard():
            if self._pool_discard or self.errors_occurred:
                # Whatever the error, the connections returned before it are pinged before their next use.
                _last_error_at[self.alias] = time.monotonic()
            checkout.invalidate()  # really closes it; the pool opens a new one when needed
        else:
            checkout.close()  # back to the pool

    def _must_discard(self) -> bool:
        if self._pool_discard or self.errors_occurred or self.in_atomic_block or self.needs_rollback:
            return True
        raw = self.connection
        if not getattr(raw, "open", True):
            return True
        # PyMySQL keeps the server's status flags: a transaction opened with raw SQL is caught here too.
        server_status = getattr(raw, "server_status", None)
        in_transaction = server_status is not None and bool(server_status & SERVER_STATUS_IN_TRANS)
        return in_transaction or not raw.get_autocommit()
