"""The application's errors: one base class carrying the code, message and HTTP status of the JSON shape.

Every error a client sees is `{"error": {"code": "<snake_case>", "message": "<human text>", ...extra}}`.
"""

from typing import Any

from django.db import InterfaceError, OperationalError
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError


class ApplicationError(Exception):
    code = "error"
    message = "Something went wrong."
    status = 400

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.message
        self.extra = extra or {}
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        return {}


class ServiceUnavailable(ApplicationError):
    """A dependency (database, Redis, WeChat) is unreachable; the client should retry after a while."""

    code = "service_unavailable"
    message = "A service this request needs is unavailable; retry shortly."
    status = 503
    retry_after_seconds = 5

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


# What "a database or Redis did not answer" looks like, wherever it surfaces: the client should retry (503), not
# be told of a bug (500).
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionInterrupted,
    RedisConnectionError,
    RedisTimeoutError,
)


def is_unreachable(error: BaseException | None) -> bool:
    return isinstance(error, UNREACHABLE_ERRORS)


# What "Redis cannot serve this" looks like, for code that goes on without Redis (a cache miss, the database
# instead, a retry later). Wider than the Redis part of UNREACHABLE_ERRORS on purpose: a Redis that answers with
# an error (out of memory, a read-only replica after a fail-over, MISCONF) cannot serve either, and every caller
# treated any RedisError so before this name existed. django-redis wraps the same errors in ConnectionInterrupted.
REDIS_UNREACHABLE: tuple[type[BaseException], ...] = (ConnectionInterrupted, RedisError)


class RequestTooLarge(ApplicationError):
    code = "request_too_large"
    message = "The request body is larger than this API accepts."
    status = 413


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}
