"""The fleet's Prometheus metrics: every metric object, and the one-line calls that record them (docs/metrics.md).

Each process writes its samples to mmap files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess
mode: no lock shared between processes, a write is a few microseconds); /metrics (metrics.views) adds up the
files of every program. Without the variable (tests, `./dev serve`) the values live in this process only.

Labels are bounded on purpose: a tenant label only where a tenant's share is worth a series (counters), never on
histograms; routes by their URL pattern's name, never the raw path; errcodes as WeChat's numbers. The series
count at 1,000 tenants is stated in docs/metrics.md and tested (tests/test_metrics.py).
"""

import functools
import glob
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

F = TypeVar("F", bound=Callable[..., Any])

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
NO_TENANT = "-"

# --- Which files this process writes --------------------------------------------------------------------------
# By default one set per pid. rq forks a work horse per job: a set per job would grow the folder by thousands
# of files a day, so every horse of one worker writes the same set ("horse-<worker pid>", one horse at a time).
_identity = {"pid": os.getpid(), "name": str(os.getpid())}


def _process_identifier() -> str:
    pid = os.getpid()
    if pid != _identity["pid"]:  # forked: a process of its own unless it says otherwise
        _identity.update(pid=pid, name=str(pid))
    return str(_identity["name"])


def metrics_identify_work_horse() -> str:
    """Called first in an rq work horse: its samples go to its worker's horse files; the name."""
    name = work_horse_name(os.getppid())
    _identity.update(pid=os.getpid(), name=name)
    return name


def work_horse_name(worker_pid: int) -> str:
    return f"horse-{worker_pid}"


if MULTIPROC_DIR:
    # Every process makes the folder it writes to (a worker may start before gunicorn's on_starting made its own).
    os.makedirs(MULTIPROC_DIR, exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)

# Our own registry: prometheus_client's default one would add per-process collectors that mean nothing summed.
REGISTRY = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 20.0)
QUEUE_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)


def _counter(name: str, documentation: str, labels: tuple[str, ...]) -> Counter:
    return Counter(name, documentation, labels, registry=REGISTRY)


def _histogram(name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Histogram:
    return Histogram(name, documentation, labels, buckets=buckets, registry=REGISTRY)


def _live_gauge(name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
    # livesum: the sum over live processes; a dead one's files are dropped (gunicorn's child_exit, the worker).
    return Gauge(name, documentation, labels, multiprocess_mode="livesum", registry=REGISTRY)


# --- HTTP ------------------------------------------------------------------------------------------------------
HTTP_TENANT_REQUESTS = _counter(
    "miniplex_http_tenant_requests", "Requests answered, by tenant and status class.", ("tenant", "status")
)
HTTP_REQUESTS = _counter(
    "miniplex_http_requests", "Requests answered, by route (URL pattern name) and status class.", ("route", "status")
)
HTTP_DURATION = _histogram(
    "miniplex_http_request_duration_seconds", "Time to answer a request, by route.", ("route",), LATENCY_BUCKETS
)
# --- Tenancy ---------------------------------------------------------------------------------------------------
REGISTRY_LOOKUPS = _counter(
    "miniplex_tenant_registry_lookups", "Tenant lookups by the tier that answered (local, shared, database).", ("tier",)
)
TENANT_REFUSALS = _counter(
    "miniplex_tenant_refusals", "Requests refused before any view: unknown, suspended, bad AppIDs.", ("reason",)
)
# --- Database --------------------------------------------------------------------------------------------------
DB_POOL_IN_USE = _live_gauge("miniplex_db_pool_connections_in_use", "Pooled connections checked out.", ("alias",))
DB_POOL_WAITING = _live_gauge("miniplex_db_pool_waiting", "Callers waiting for a pooled connection.", ("alias",))
DB_POOL_CHECKOUT = _histogram(
    "miniplex_db_pool_checkout_seconds", "Time to check a connection out of the pool.", ("alias",), WAIT_BUCKETS
)
DB_POOL_TIMEOUTS = _counter(
    "miniplex_db_pool_timeouts", "Checkouts that found no free connection in time (503).", ("alias",)
)
DB_CONNECTIONS_OPENED = _counter("miniplex_db_connections_opened", "New connections to MySQL.", ("alias",))
# --- Redis -----------------------------------------------------------------------------------------------------
REDIS_ERRORS = _counter(
    "miniplex_redis_errors", "Redis connections that failed (refused, timed out, pool exhausted).", ("caller",)
)
REDIS_FALLBACKS = _counter(
    "miniplex_redis_fallbacks", "Redis unreachable and the caller went on without it, by caller.", ("caller",)
)
# --- WeChat ----------------------------------------------------------------------------------------------------
WECHAT_CALLS = _counter(
    "miniplex_wechat_calls", "Calls of WeChat's APIs by tenant, API path and errcode.", ("tenant", "api", "errcode")
)
WECHAT_DURATION = _histogram(
    "miniplex_wechat_call_duration_seconds", "Time of a WeChat API call, by API path.", ("api",), LATENCY_BUCKETS
)
TOKEN_REFRESHES = _counter(
    "miniplex_wechat_token_refreshes", "access_token fetches by tenant and result (ok, failed).", ("tenant", "result")
)
TOKEN_LOCK_WAIT = _counter(
    "miniplex_wechat_token_lock_wait_seconds", "Time spent waiting for another process's token refresh.", ()
)
# --- Jobs ------------------------------------------------------------------------------------------------------
JOBS_QUEUED = _counter("miniplex_jobs_queued", "Jobs put on the queue.", ("tenant", "function"))
JOBS_STARTED = _counter("miniplex_jobs_started", "Jobs a worker started.", ("tenant", "function"))
JOBS_FINISHED = _counter("miniplex_jobs_finished", "Jobs that succeeded.", ("tenant", "function"))
JOBS_FAILED = _counter("miniplex_jobs_failed", "Jobs that failed for good (no retry left).", ("tenant", "function"))
JOBS_RETRIED = _counter("miniplex_jobs_retried", "Failed attempts that will be retried.", ("tenant", "function"))
JOBS_QUEUE_WAIT = _histogram(
    "miniplex_jobs_queue_wait_seconds", "Time from enqueue to start, by queue.", ("queue",), QUEUE_WAIT_BUCKETS
)


# --- The one-line calls ------------------------------------------------------------------------------------------
def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


# The labelled children of the per-request metrics, found once: `labels()` validates, builds a tuple and takes the
# metric's lock (a gevent lock in a web worker) on every call; these calls are on every request. As many entries
# as the metrics themselves keep (tenants x status classes at most), and a child notices a fork by itself.
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (id(metric), values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def http_request_observed(*, tenant: str | None, route: str, status: int, seconds: float) -> None:
    cls = status_class(status)
    _child(HTTP_TENANT_REQUESTS, tenant or NO_TENANT, cls).inc()
    _child(HTTP_REQUESTS, route, cls).inc()
    _child(HTTP_DURATION, route).observe(seconds)


def registry_lookup(tier: str) -> None:
    _child(REGISTRY_LOOKUPS, tier).inc()


def tenant_refused(reason: str) -> None:
    TENANT_REFUSALS.labels(reason).inc()


@contextmanager
def db_pool_checkout(alias: str) -> Iterator[None]:
    """Around a pool checkout: the caller counts as waiting meanwhile; the wait is timed, a timeout counted."""
    waiting = DB_POOL_WAITING.labels(alias)
    waiting.inc()
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        if type(error).__name__ == "TimeoutError":  # SQLAlchemy's pool timeout (core imports no SQLAlchemy)
            DB_POOL_TIMEOUTS.labels(alias).inc()
        raise
    else:
        DB_POOL_IN_USE.labels(alias).inc()
    finally:
        waiting.dec()
        DB_POOL_CHECKOUT.labels(alias).observe(time.perf_counter() - started)


def db_pool_returned(alias: str) -> None:
    DB_POOL_IN_USE.labels(alias).dec()


def db_connection_opened(alias: str) -> None:
    DB_CONNECTIONS_OPENED.labels(alias).inc()


def redis_error(caller: str) -> None:
    REDIS_ERRORS.labels(caller).inc()


def redis_fallback(caller: str) -> None:
    REDIS_FALLBACKS.labels(caller).inc()


def errcode_of(error: BaseException | None) -> str:
    """ "0" for success, WeChat's errcode, or "unavailable" (no answer, not JSON, HTTP 5xx)."""
    if error is None:
        return "0"
    errcode = getattr(error, "errcode", None)
    return str(errcode) if isinstance(errcode, int) and errcode else "unavailable"


def observe_wechat_call(method: F) -> F:
    """Decorates WeChatClient.call(self, method, path, ...): counted by tenant, API and errcode, and timed."""

    @functools.wraps(method)
    def observed(self: Any, http_method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        started, error = time.perf_counter(), None
        try:
            return method(self, http_method, path, *args, **kwargs)
        except Exception as raised:
            error = raised
            raise
        finally:
            tenant = getattr(self, "app_id", None) or NO_TENANT
            WECHAT_CALLS.labels(tenant, path, errcode_of(error)).inc()
            WECHAT_DURATION.labels(path).observe(time.perf_counter() - started)

    return observed  # type: ignore[return-value]


def observe_token_refresh(method: F) -> F:
    """Decorates a token holder's fetch-and-store(self, app_id, ...): one refresh, ok or failed, per tenant."""

    @functools.wraps(method)
    def observed(self: Any, app_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, app_id, *args, **kwargs)
        except Exception:
            TOKEN_REFRESHES.labels(app_id, "failed").inc()
            raise
        TOKEN_REFRESHES.labels(app_id, "ok").inc()
        return result

    return observed  # type: ignore[return-value]


def token_lock_waited(seconds: float) -> None:
    TOKEN_LOCK_WAIT.inc(seconds)


def job_queued(*, tenant: str | None, function: str | None) -> None:
    JOBS_QUEUED.labels(tenant or NO_TENANT, function or NO_TENANT).inc()


def job_started(*, tenant: str | None, function: str | None, queue: str, enqueued_at: Any) -> None:
    JOBS_STARTED.labels(tenant or NO_TENANT, function or NO_TENANT).inc()
    if enqueued_at is not None:
        waited = time.time() - enqueued_at.timestamp()
        JOBS_QUEUE_WAIT.labels(queue).observe(max(0.0, waited))


def job_finished(*, tenant: str | None, function: str | None) -> None:
    JOBS_FINISHED.labels(tenant or NO_TENANT, function or NO_TENANT).inc()


def job_failed(*, tenant: str | None, function: str | None, retried: bool) -> None:
    (JOBS_RETRIED if retried else JOBS_FAILED).labels(tenant or NO_TENANT, function or NO_TENANT).inc()


# --- Clean-up of dead processes' live gauges ---------------------------------------------------------------------
def forget_live_gauges(process_name: str | int, folder: str | None = None) -> None:
    """Drops a dead process's live gauges ("*": every process's); its counters stay in the fleet's totals."""
    folder = folder or MULTIPROC_DIR
    if not folder:
        return
    for mode in ("livesum", "liveall", "livemax", "livemin", "livemostrecent"):
        for path in glob.glob(os.path.join(folder, f"gauge_{mode}_{process_name}.db")):
            os.remove(path)
