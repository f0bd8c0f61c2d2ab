"""What a job's failure was, in a record kept in job.meta: which errors are temporary and worth a retry."""

from datetime import UTC, datetime
from typing import Any

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.timeouts import JobTimeoutException

from core.exceptions import ApplicationError
from tenants.jobs.exceptions import JobTenantRefused

# A database or Redis hiccup, or a job that ran out of time: the next attempt may well succeed.
TEMPORARY_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    JobTimeoutException,
)

# Failure codes of a job whose process died under it (kill -9, OOM, a lost host): nothing it raised.
WORKER_DIED = "worker_died"
ABANDONED = "abandoned"
CRASH_CODES = frozenset({WORKER_DIED, ABANDONED})


def is_temporary(error: BaseException) -> bool:
    """True for errors worth a retry with back-off.

    An error that says so itself is believed: WeChat's errors carry `retryable` (-1 busy, time-outs,
    5xx and connection errors are True; 43101 and every other errcode are False).
    """
    retryable = getattr(error, "retryable", None)
    if isinstance(retryable, bool):
        return retryable
    return isinstance(error, TEMPORARY_ERRORS)


def failure_record(error: BaseException, *, retryable: bool) -> dict[str, Any]:
    """The failure as stored in job.meta["failure"] and shown by the jobs API and the failed_jobs command."""
    code, message = _code_and_message(error)
    record: dict[str, Any] = {"code": code, "message": message, "error": type(error).__name__, "retryable": retryable}
    errcode = getattr(error, "errcode", None)
    if isinstance(errcode, int):
        record["errcode"] = errcode
    return {**record, "at": _now()}


def crash_record(code: str, message: str) -> dict[str, Any]:
    """The failure of a job whose worker died while running it (retried at once while retries are left)."""
    return {"code": code, "message": message, "error": code, "retryable": True, "at": _now()}


def _code_and_message(error: BaseException) -> tuple[str, str]:
    if isinstance(error, JobTenantRefused | ApplicationError):
        return error.code, error.message
    if hasattr(error, "errcode"):  # a WeChatError: its text is WeChat's errcode and errmsg, nothing internal
        return "wechat_error", str(error)
    if isinstance(error, JobTimeoutException):
        return "timeout", str(error)
    if isinstance(error, TEMPORARY_ERRORS):
        return "service_unavailable", f"{type(error).__name__}: a database or Redis was unreachable"
    # Anything else is a bug: its text may hold internals, so only its type is shown; the traceback
    # is in the failed registry (failed_jobs) and in Sentry.
    return "job_error", f"the job raised {type(error).__name__}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
