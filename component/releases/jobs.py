"""The platform jobs of template releases: one target moved on, the periodic look at targets in flight, and the
handler of WeChat's audit pushes (a tenant job, registered with pushes.handlers in apps.py)."""

import logging
from typing import Any

from django.utils import timezone

from component.releases import conf
from component.releases.models import ReleaseTarget
from component.releases.selectors import targets_due
from component.releases.services import TARGET_JOB, audit_push_apply
from component.releases.steps import target_advance
from core.tenant_context import require_current_tenant
from tenants.jobs import enqueue

logger = logging.getLogger(__name__)


def release_target_job(target_id: int) -> dict[str, Any]:
    """Move one tenant's release on as far as it goes now (idempotent: the step machine resumes or waits)."""
    return {"target_id": target_id, "stage": target_advance(target_id=target_id)}


def releases_tick() -> dict[str, int]:
    """Periodic: a job for each target whose wait ended, whose audit is due a poll, or whose job was lost."""
    now = timezone.now()
    due = list(targets_due(now=now, limit=conf.tick_batch()).values_list("pk", flat=True))
    # Not handed out again before this job has had its chance (a lost one is handed out after this).
    ReleaseTarget.objects.filter(pk__in=due).update(handed_out_until=now + conf.lease())
    for target_id in due:
        enqueue(TARGET_JOB, target_id, platform=True)
    if due:
        logger.info("releases: %s targets handed to workers", len(due))
    return {"enqueued": len(due)}


def audit_push_received(message: dict[str, Any]) -> None:
    """weapp_audit_success / fail / delay, pushed by WeChat for the active tenant."""
    audit_push_apply(app_id=require_current_tenant().app_id, message=message)
