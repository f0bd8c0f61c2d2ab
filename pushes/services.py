"""Writes of pushes in the tenant's database: a push recorded once, with its job, in one transaction."""

import logging
from typing import Any

from django.db import IntegrityError, transaction

from core.tenant_context import require_current_tenant
from pushes.handlers import push_kind
from pushes.messages import as_int, out_of_bounds, push_dedup_key, text
from pushes.models import PushRecord
from tenants.jobs import enqueue

logger = logging.getLogger(__name__)


def push_record(*, message: dict[str, Any]) -> PushRecord | None:
    """Records a push and enqueues its handling (the tenant's outbox, on commit); None for a retry already recorded.

    The unique dedup key decides between concurrent copies: the database lets one insert through and answers
    the others "duplicate entry" once it has committed (they wait on its lock until then), so 50 copies at
    once make one record and one job.
    """
    alias, dedup_key = require_current_tenant().db_alias, push_dedup_key(message)
    unkeepable = out_of_bounds(message)
    try:
        with transaction.atomic(using=alias):
            record = PushRecord.objects.create(
                dedup_key=dedup_key,
                kind=push_kind(message)[:64],
                from_user=text(message, "FromUserName")[:128],
                create_time=None if unkeepable == "CreateTime" else as_int(message.get("CreateTime")),
                message=message,
                outcome=PushRecord.Outcome.IGNORED if unkeepable else PushRecord.Outcome.PENDING,
            )
            if unkeepable:
                logger.warning("pushes: %s push ignored, its %s cannot be kept", record.kind, unkeepable)
            else:
                enqueue("pushes.jobs.push_handle", record.pk)
    except IntegrityError:
        # Whatever the backend's wording (MySQL's 1062, SQLite's "UNIQUE constraint failed"): the key is there.
        if PushRecord.objects.filter(dedup_key=dedup_key).exists():
            return None
        raise
    return record


def push_record_held(message: dict[str, Any]) -> None:
    """push_record for a push held during a move's freeze (tenants.moving.held): idempotent by its dedup key."""
    push_record(message=message)
