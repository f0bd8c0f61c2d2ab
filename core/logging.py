"""Logging that names the tenant and the request of every line, as text or as JSON (LOG_FORMAT=json)."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.request_id import get_request_id
from core.tenant_context import get_current_tenant

# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON line.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class TenantContextFilter(logging.Filter):
    """Adds `app_id` and `request_id` ("-" outside a tenant or a request) to every record.

    Attached to the handlers, not to loggers: a handler's filter sees the records that propagate to it from
    every logger, a logger's filter only the records logged on that very logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        tenant = get_current_tenant()
        # Django logs a 4xx/5xx response ("django.request") after the middleware has left the request's
        # context; the record then carries the request, which still names its tenant and id.
        request = getattr(record, "request", None)
        if tenant is None:
            tenant = getattr(request, "tenant", None)
        record.app_id = tenant.app_id if tenant is not None else "-"
        record.request_id = get_request_id() or getattr(request, "request_id", None) or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, app_id, request_id, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "app_id": getattr(record, "app_id", "-"),
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in line:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
