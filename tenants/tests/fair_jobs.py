"""Job functions of the fairness tests and benchmark (importable by worker processes)."""

from typing import Any

from core.tenant_context import require_current_tenant


def noop(marker: str) -> dict[str, Any]:
    """Does nothing but say whose it was: the queue's order and the workers' pace are what is measured."""
    return {"app_id": require_current_tenant().app_id, "marker": marker}
