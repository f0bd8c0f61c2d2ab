"""The tenant job that hands a recorded push to its kind's handler, once."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.tenant_context import require_current_tenant
from pushes.handlers import push_handler_call
from pushes.models import PushRecord


def push_handle(record_id: int) -> dict[str, Any]:
    """Runs the handler and marks the record in one transaction, the record locked: a job run twice does it once.

    A handler that raises rolls its own writes back with the mark, and the job is retried or fails by the
    jobs' rules (tenants.jobs). Handlers should enqueue slow work (a WeChat call) rather than do it here.
    """
    with transaction.atomic(using=require_current_tenant().db_alias):
        record = PushRecord.objects.select_for_update().get(pk=record_id)
        if record.outcome != PushRecord.Outcome.PENDING:
            return {"record": record_id, "kind": record.kind, "outcome": record.outcome, "again": True}
        handled = push_handler_call(record.kind, record.message)
        record.outcome = PushRecord.Outcome.HANDLED if handled else PushRecord.Outcome.IGNORED
        record.handled_at = timezone.now()
        record.save(update_fields=["outcome", "handled_at"])
    return {"record": record_id, "kind": record.kind, "outcome": record.outcome}
