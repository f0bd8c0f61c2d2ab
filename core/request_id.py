"""The request id: taken from X-Request-ID when the client or nginx sends one, made when not, echoed back.

It lives in a ContextVar beside the tenant, so every log line and Sentry event of the request carries it.
Jobs can bind their own (the job id) with `bind_request_id`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the logging filter imports this module while settings load: no Django at import time
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# A sent id is used only if it is short and plain: it goes into every log line as it is.
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)

_request_id: ContextVar[str | None] = ContextVar("miniplex_request_id", default=None)


def get_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bind_request_id(request_id: str | None) -> Iterator[str]:
    """Make `request_id` (or a new one) the current id inside the block; the previous one comes back after."""
    value = request_id if request_id and ACCEPTED.fullmatch(request_id) else new_request_id()
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """First in the chain, so that even a refused AppID's response and log lines carry the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with bind_request_id(request.headers.get(HEADER)) as request_id:
            # An attribute of our own for views and the log filter; django-stubs' HttpRequest declares Django's only.
            request.request_id = request_id  # type: ignore[attr-defined]
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
