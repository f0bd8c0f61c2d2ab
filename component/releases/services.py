"""Writes of template releases: start one, ask for a release or a retry, take in WeChat's audit pushes.

Every WeChat call happens in platform jobs (component.releases.jobs), one per target, never in a request.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from component.releases import conf
from component.releases.exceptions import ReleaseInvalid, ReleaseTargetNotReady
from component.releases.ext_json import ext_json_for, ext_json_template_check
from component.releases.models import Release, ReleaseTarget, Stage
from tenants.jobs import enqueue
from tenants.models import Tenant

logger = logging.getLogger(__name__)

USER_VERSION_MAX_CHARS = 64  # wxa/commit's limit
TARGET_JOB = "component.releases.jobs.release_target_job"
# The stages an operator may send back to a fresh submission ("retry"): the waits, and the failed audit once the
# code or the answers to the reviewers were fixed.
RETRYABLE_STAGES = {Stage.WAITING_PRIVACY, Stage.AUDIT_BUSY, Stage.QUOTA_EXCEEDED, Stage.AUDIT_FAILED, Stage.FAILED}
# Stages that wait for a time, which an operator may cut short ("check now").
CHECKABLE_STAGES = (Stage.WAITING_PRIVACY, Stage.AUDIT_BUSY, Stage.QUOTA_EXCEEDED, Stage.AUDITING, Stage.AUDIT_DELAYED)
# Audit stages a weapp_audit_* push may end.
AUDIT_STAGES = (Stage.SUBMITTING, Stage.AUDITING, Stage.AUDIT_DELAYED)


def release_start(
    *,
    template_id: int,
    app_ids: list[str] | None,
    user_version: str,
    user_desc: str,
    started_by: str,
    ext_json_template: dict[str, Any] | None = None,
    audit_request: dict[str, Any] | None = None,
    auto_release: bool = False,
) -> Release:
    """A release of one template to the given tenants, one job per tenant.

    app_ids None: every active tenant in open-platform mode. Named tenants must be active; one in secret mode (or
    whose authorization was cancelled) is taken as named and its target fails before any WeChat call (steps.py),
    with our words on the board.
    """
    template = ext_json_template_check(ext_json_template or {})
    _check_version(template_id, user_version, user_desc)
    if audit_request is not None and not isinstance(audit_request, dict):
        raise ReleaseInvalid("The submit_audit fields must be a JSON object.")
    tenants = _tenants_for(app_ids)
    with transaction.atomic():
        release = Release.objects.create(
            template_id=template_id,
            user_version=user_version,
            user_desc=user_desc,
            ext_json_template=template,
            audit_request=audit_request or {},
            auto_release=auto_release,
            started_by=started_by,
        )
        # The periodic job hands a target to a worker again if this first job is lost.
        watchdog = timezone.now() + conf.lease()
        targets = ReleaseTarget.objects.bulk_create(
            ReleaseTarget(
                release=release,
                app_id=tenant.app_id,
                ext_json=ext_json_for(template=template, app_id=tenant.app_id, name=tenant.name),
                handed_out_until=watchdog,
            )
            for tenant in tenants
        )
        for target in ReleaseTarget.objects.filter(release=release).only("pk"):
            enqueue(TARGET_JOB, target.pk, platform=True)
    logger.info("release %s of template %s started for %s tenants", release.pk, template_id, len(targets))
    return release


def _check_version(template_id: int, user_version: str, user_desc: str) -> None:
    if not isinstance(template_id, int) or template_id < 0:
        raise ReleaseInvalid("The template id is a number from the template library (gettemplatelist).")
    if not user_version.strip() or len(user_version) > USER_VERSION_MAX_CHARS:
        raise ReleaseInvalid(f"user_version is 1 to {USER_VERSION_MAX_CHARS} characters.")
    if not user_desc.strip() or len(user_desc) > 255:
        raise ReleaseInvalid("user_desc is 1 to 255 characters.")


def _tenants_for(app_ids: list[str] | None) -> list[Tenant]:
    active = Tenant.objects.filter(status=Tenant.Status.ACTIVE)
    if app_ids is None:
        # Every tenant that authorized the platform: WeChat takes code management only with an authorizer token.
        tenants = list(active.filter(auth_mode=Tenant.AuthMode.COMPONENT))
    else:
        wanted = list(dict.fromkeys(app_ids))
        tenants = list(active.filter(app_id__in=wanted))
        missing = sorted(set(wanted) - {tenant.app_id for tenant in tenants})
        if missing:
            raise ReleaseInvalid(f"No active tenant {', '.join(missing)}.", extra={"app_ids": missing})
    if not tenants:
        raise ReleaseInvalid("No tenant to release to.")
    return tenants


def release_targets_release(*, release_id: int, app_ids: list[str] | None = None) -> list[str]:
    """The operator's go: release the approved tenants of a release (None: all of them); returns their AppIDs."""
    targets = ReleaseTarget.objects.filter(release_id=release_id).exclude(
        stage__in=[Stage.RELEASED, Stage.FAILED, Stage.AUDIT_FAILED, Stage.CANCELLED]
    )
    if app_ids is not None:
        targets = targets.filter(app_id__in=app_ids)
    chosen = list(targets.values_list("pk", "app_id", "stage"))
    with transaction.atomic():
        # Tenants still in audit are released when their audit ends; approved ones now.
        ReleaseTarget.objects.filter(pk__in=[pk for pk, _, _ in chosen]).update(release_requested=True)
        for pk, _, stage in chosen:
            if stage == Stage.APPROVED:
                enqueue(TARGET_JOB, pk, platform=True)
    return [app_id for _, app_id, _ in chosen]


def release_check_now(*, release_id: int) -> int:
    """Ask WeChat now about every tenant of a release that waits for a time (an audit, 61039, 85009, 85085)."""
    waiting = ReleaseTarget.objects.filter(release_id=release_id, stage__in=CHECKABLE_STAGES)
    ids = list(waiting.values_list("pk", flat=True))
    with transaction.atomic():
        ReleaseTarget.objects.filter(pk__in=ids).update(next_check_at=None, updated_at=timezone.now())
        for target_id in ids:
            enqueue(TARGET_JOB, target_id, platform=True)
    return len(ids)


def release_target_retry(*, target_id: int) -> ReleaseTarget:
    """Submit again now: after a wait (61039, 85009, 85085) or a failure the operator has dealt with."""
    target = ReleaseTarget.objects.get(pk=target_id)
    if target.stage not in RETRYABLE_STAGES:
        raise ReleaseTargetNotReady(f"{target.app_id} is {target.stage}: nothing to retry.")
    # A failure before the commit went through starts again from the commit; any later one from the submission.
    stage = Stage.PENDING if target.committed_at is None else Stage.COMMITTED
    with transaction.atomic():
        ReleaseTarget.objects.filter(pk=target_id).update(
            stage=stage, attempts=0, next_check_at=None, updated_at=timezone.now()
        )
        enqueue(TARGET_JOB, target_id, platform=True)
    target.refresh_from_db()
    return target


def audit_push_apply(*, app_id: str, message: dict[str, Any]) -> list[int]:
    """A weapp_audit_success / fail / delay push for one tenant: its audit's end, recorded; returns the target.

    The push names no auditid (WeChat's pushes do not carry it): it concerns the tenant's release in audit.
    A conditional UPDATE, so a push never overwrites a stage that moved on meanwhile (a poll, a retry).
    """
    event = str(message.get("Event", ""))
    reason = str(message.get("Reason") or "")
    now = timezone.now()
    changes: dict[str, Any]
    if event == "weapp_audit_success":
        changes = {"stage": Stage.APPROVED, "audit_ended_at": now, "next_check_at": None, "wechat_message": ""}
    elif event == "weapp_audit_fail":
        screenshot = str(message.get("ScreenShot") or "")
        changes = {
            "stage": Stage.AUDIT_FAILED,
            "audit_ended_at": now,
            "wechat_message": reason,
            "screenshot": screenshot,
        }
    elif event == "weapp_audit_delay":
        changes = {"stage": Stage.AUDIT_DELAYED, "wechat_message": reason, "next_check_at": now + conf.audit_poll()}
    else:
        raise ValueError(f"not an audit push: {event!r}")
    # WeChat audits one version of a mini-program at a time: the push is about the latest submission (an older
    # target still marked in audit is settled by polling its own auditid).
    in_audit = ReleaseTarget.objects.filter(app_id=app_id, stage__in=AUDIT_STAGES, auditid__isnull=False)
    ids = list(in_audit.order_by("-submitted_at", "-pk").values_list("pk", flat=True)[:1])
    with transaction.atomic():
        ReleaseTarget.objects.filter(pk__in=ids, stage__in=AUDIT_STAGES).update(**changes, updated_at=now)
        if event == "weapp_audit_success":
            for target_id in ids:
                enqueue(TARGET_JOB, target_id, platform=True)  # released at once when the release says so
    logger.info("audit push %s for %s: targets %s", event, app_id, ids)
    return ids
