"""The tenant job that hands a recorded push to its kind's handler, once; the periodic purge of old records."""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.tenant_context import activate_tenant, require_current_tenant
from pushes import conf
from pushes.handlers import push_handler_call
from pushes.models import PushRecord
from tenants.models import Tenant
from tenants.selectors import tenant_context_for, tenant_list


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


def push_records_purge() -> dict[str, int]:
    """The periodic platform job: each tenant's push records older than PUSH_RECORD_KEEP_DAYS deleted.

    A record only has to outlive WeChat's retries of its push (seconds to minutes) to keep them out; the rest of
    the week is for people looking into what arrived. One indexed DELETE per tenant.
    """
    cutoff = timezone.now() - timedelta(days=conf.record_keep_days())
    deleted: dict[str, int] = {}
    for tenant in tenant_list().filter(status=Tenant.Status.ACTIVE):
        with activate_tenant(tenant_context_for(tenant)):
            count, _ = PushRecord.objects.filter(received_at__lt=cutoff).delete()
        if count:
            deleted[tenant.app_id] = count
    return deleted
