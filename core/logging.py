"""Logging that names the tenant of every line."""

import logging

from core.tenant_context import get_current_tenant


class TenantContextFilter(logging.Filter):
    """Adds `app_id` (or "-" outside any tenant) to every record, for formatters and JSON output."""

    def filter(self, record: logging.LogRecord) -> bool:
        tenant = get_current_tenant()
        record.app_id = tenant.app_id if tenant is not None else "-"
        return True
