"""Job functions for the worker tests (importable by the worker processes: tests/ is on their PYTHONPATH)."""

import time
from typing import Any

from django.db import OperationalError, connections

from accounts.models import MiniProgramUser
from core.tenant_context import get_current_tenant, require_current_tenant


def record_database(marker: str) -> dict[str, Any]:
    """Writes a row in the active tenant's database, named after the database the connection is really on."""
    tenant = require_current_tenant()
    with connections[tenant.db_alias].cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        (database,) = cursor.fetchone()
    MiniProgramUser.objects.create(openid=f"job-{marker}", nickname=database)
    return {"app_id": tenant.app_id, "database": database, "marker": marker}


def sleep_then_record(marker: str, seconds: float) -> dict[str, Any]:
    """A job that is still running when the test kills or stops its worker."""
    time.sleep(seconds)
    return record_database(marker)


def fail_until(marker: str, failures: int) -> dict[str, Any]:
    """Raises a temporary database error the first `failures` attempts (counted in the tenant's own rows)."""
    attempts = MiniProgramUser.objects.filter(openid__startswith=f"attempt-{marker}-").count()
    MiniProgramUser.objects.create(openid=f"attempt-{marker}-{attempts + 1}")
    if attempts < failures:
        raise OperationalError(2013, "Lost connection to MySQL server during query (injected by the test)")
    return record_database(marker)


def fail_for_good(marker: str) -> None:
    """A bug: never retried."""
    MiniProgramUser.objects.create(openid=f"attempt-{marker}-{time.monotonic_ns()}")
    raise ValueError("a bug in the job, with internals that the API must not show")


def platform_job() -> dict[str, Any]:
    """A platform job runs with no tenant active."""
    return {"tenant": get_current_tenant()}
