"""The step machine of one release target: commit, submit for audit, follow the audit, release.

Each step writes its stage before its WeChat call (committing, submitting, releasing) and the outcome after it.
A stage found "…ing" at the start of a job therefore means an earlier job died around that call: before doing it
again, the step asks WeChat whether it happened (getversioninfo shows the trial and online versions,
get_latest_auditstatus the last submitted audit), so nothing is committed, submitted or released twice.

Only one job works on a target at a time: it takes the target's lease with one conditional UPDATE, renews it
with every write and gives it back at the end; a killed job's lease runs out (RELEASES_LEASE_SECONDS) and the
periodic job hands the target to another worker. A write whose lease was lost changes nothing (LeaseLost).
WeChat's refusals with a next step (61039, 85009, 85085, 85019, 85020, 85052) become stages; temporary errors
(WeChat busy or unreachable) are raised for the job's retries, leaving the stage as the resume point.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from component.models import Authorizer
from component.permissions import authorizer_permission_require
from component.releases import conf, wechat_calls
from component.releases.exceptions import TenantNotAuthorizedForCode
from component.releases.models import FINAL_STAGES, ReleaseTarget, Stage
from core.exceptions import ApplicationError
from tenants.exceptions import TenantSuspended
from tenants.models import Tenant
from tenants.selectors import tenant_get
from wechat.exceptions import WeChatError

logger = logging.getLogger(__name__)

# WeChat's errcodes that are states of a release, not failures of our call (docs/template-releases.md).
PRIVACY_CHECK_PENDING = 61039
ALREADY_AUDITING = 85009
AUDIT_QUOTA_EXCEEDED = 85085
NO_AUDITED_VERSION = 85019
RELEASE_NOT_ALLOWED = 85020
ALREADY_RELEASED = 85052
# get_auditstatus's status values.
AUDIT_APPROVED, AUDIT_REJECTED, AUDIT_AUDITING, AUDIT_WITHDRAWN, AUDIT_DELAYED = 0, 1, 2, 3, 4
# WeChat's and our clocks may differ a little: a version WeChat dates this much before our step is still ours.
CLOCK_SLACK = timedelta(minutes=5)
# The monthly audit quota is WeChat's month, in China's time.
WECHAT_TIME = ZoneInfo("Asia/Shanghai")
# Stages that wait for a time (next_check_at) before a job does anything with them.
WAITING_STAGES = frozenset(
    {Stage.WAITING_PRIVACY, Stage.AUDIT_BUSY, Stage.QUOTA_EXCEEDED, Stage.AUDITING, Stage.AUDIT_DELAYED}
)
MAX_STEPS_PER_JOB = 12


class LeaseLost(Exception):
    """Another job owns the target now (ours ran out): this job stops without writing."""


class Lease:
    """One job's ownership of one target, held in the target's row."""

    def __init__(self, target_id: int) -> None:
        self.target_id = target_id
        self.owner = uuid.uuid4().hex

    def take(self) -> bool:
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = ReleaseTarget.objects.filter(free, pk=self.target_id).update(
            lease_owner=self.owner, lease_until=now + conf.lease()
        )
        return taken == 1

    def write(self, target: ReleaseTarget, **fields: Any) -> None:
        """Record fields on the target (and renew the lease), only while this job still owns it."""
        now = timezone.now()
        fields = {**fields, "updated_at": now}
        written = ReleaseTarget.objects.filter(pk=self.target_id, lease_owner=self.owner).update(
            **fields, lease_until=now + conf.lease()
        )
        if written != 1:
            raise LeaseLost(f"release target {self.target_id}: the lease went to another job")
        for name, value in fields.items():
            setattr(target, name, value)

    def give_back(self, *, retrying: bool = False) -> None:
        """The lease, and the periodic job's hand-out that this job used, are free again.

        retrying: the job raised a temporary error and rq will run it again; the periodic job leaves the target
        to that retry for a lease's time rather than start a second chain of attempts beside it.
        """
        handed_out_until = timezone.now() + conf.lease() if retrying else None
        ReleaseTarget.objects.filter(pk=self.target_id, lease_owner=self.owner).update(
            lease_owner="", lease_until=None, handed_out_until=handed_out_until
        )


def target_advance(*, target_id: int) -> str:
    """Move one target on as far as it goes now; returns its stage ("busy" when another job owns it)."""
    lease = Lease(target_id)
    if not lease.take():
        return "busy"
    retrying = False
    try:
        target = ReleaseTarget.objects.select_related("release").get(pk=target_id)
        for _ in range(MAX_STEPS_PER_JOB):
            step = _next_step(target)
            if step is None:
                break
            try:
                _tenant_check(target)
                step(target, lease)
            except ApplicationError as error:
                # Ours, not WeChat's: the tenant suspended or gone, its owner's permissions, the platform's set-up.
                lease.write(target, stage=Stage.FAILED, errcode=None, wechat_message=f"{error.code}: {error.message}")
        return str(target.stage)
    except LeaseLost:
        logger.warning("release target %s: this job's lease ran out; the job that took it goes on", target_id)
        return "busy"
    except WeChatError:
        retrying = True  # temporary (the others became stages): the job's retries go on from the recorded stage
        raise
    finally:
        lease.give_back(retrying=retrying)


def _tenant_check(target: ReleaseTarget) -> None:
    """A release goes on only for an active tenant that authorized the platform (code management is a third-party
    platform's API, called with the authorizer token) and whose owner granted code management (permission set 18).
    """
    tenant = tenant_get(app_id=target.app_id)
    if tenant.status != Tenant.Status.ACTIVE:
        raise TenantSuspended(f"The tenant {target.app_id} is {tenant.status}; retry once it is active again.")
    if not tenant.uses_component:
        raise TenantNotAuthorizedForCode(
            f"The tenant {target.app_id} uses its own AppSecret; WeChat takes code releases only for mini-programs "
            "that authorized the open platform."
        )
    if not Authorizer.objects.filter(app_id=target.app_id, status=Authorizer.Status.AUTHORIZED).exists():
        raise TenantNotAuthorizedForCode(
            f"The owner of {target.app_id} cancelled its authorization; they must authorize Miniplex again."
        )
    if target.stage == Stage.PENDING:
        authorizer_permission_require(app_id=target.app_id, feature="code_release")


def _next_step(target: ReleaseTarget) -> Step | None:
    """The step to run now, or None when the target waits (for a time, an operator, or nothing: it is done)."""
    if target.stage in FINAL_STAGES:
        return None
    if target.stage in WAITING_STAGES and target.next_check_at is not None and target.next_check_at > timezone.now():
        return None
    if target.stage == Stage.APPROVED and not (target.release.auto_release or target.release_requested):
        return None
    return STEPS[Stage(target.stage)]


# --- commit ------------------------------------------------------------------------------------------------------


def _step_pending(target: ReleaseTarget, lease: Lease) -> None:
    lease.write(target, stage=Stage.COMMITTING, commit_started_at=timezone.now(), next_check_at=None)
    _commit(target, lease)


def _step_committing(target: ReleaseTarget, lease: Lease) -> None:
    """Found after a crash around wxa/commit: the trial version tells whether the commit went through."""
    info = wechat_calls.code_version_info(app_id=target.app_id).get("exp_info") or {}
    if _is_ours(target, info.get("exp_version"), info.get("exp_desc"), info.get("exp_time"), target.commit_started_at):
        logger.info("release target %s: the commit before the crash went through; not committing again", target.pk)
        lease.write(target, stage=Stage.COMMITTED, committed_at=timezone.now())
        return
    _commit(target, lease)


def _commit(target: ReleaseTarget, lease: Lease) -> None:
    release = target.release
    try:
        wechat_calls.code_commit(
            app_id=target.app_id,
            template_id=release.template_id,
            ext_json=target.ext_json,
            user_version=release.user_version,
            user_desc=release.user_desc,
        )
    except WeChatError as error:
        _failed_unless_temporary(target, lease, error)
        return
    lease.write(target, stage=Stage.COMMITTED, committed_at=timezone.now(), errcode=None, wechat_message="")


# --- submit for audit --------------------------------------------------------------------------------------------


def _step_submit(target: ReleaseTarget, lease: Lease) -> None:
    """committed, or a wait (61039, 85009, 85085) that has ended: submit the trial version."""
    lease.write(target, stage=Stage.SUBMITTING, submitted_at=timezone.now(), next_check_at=None)
    _submit(target, lease)


def _step_submitting(target: ReleaseTarget, lease: Lease) -> None:
    """Found after a crash around wxa/submit_audit: the latest audit tells whether the submission went through."""
    if not _adopt_our_audit(target, lease):
        _submit(target, lease)


def _submit(target: ReleaseTarget, lease: Lease) -> None:
    request = {"version_desc": target.release.user_desc, **target.release.audit_request}
    try:
        auditid = wechat_calls.code_submit_audit(app_id=target.app_id, request=request)
    except WeChatError as error:
        _submit_refused(target, lease, error)
        return
    lease.write(
        target,
        stage=Stage.AUDITING,
        auditid=auditid,
        attempts=0,
        errcode=None,
        wechat_message="",
        next_check_at=timezone.now() + conf.audit_poll(),
    )


def _submit_refused(target: ReleaseTarget, lease: Lease, error: WeChatError) -> None:
    now, words = timezone.now(), {"errcode": error.errcode, "wechat_message": error.errmsg}
    if error.errcode == PRIVACY_CHECK_PENDING:
        attempts = target.attempts + 1
        if attempts >= conf.privacy_max_tries():
            lease.write(target, stage=Stage.FAILED, attempts=attempts, **words)
            return
        wait = now + conf.privacy_retry()
        lease.write(target, stage=Stage.WAITING_PRIVACY, attempts=attempts, next_check_at=wait, **words)
    elif error.errcode == ALREADY_AUDITING:
        # Ours, if an earlier submission went through unrecorded; else another version's audit must end first.
        if not _adopt_our_audit(target, lease):
            lease.write(target, stage=Stage.AUDIT_BUSY, next_check_at=now + conf.busy_retry(), **words)
    elif error.errcode == AUDIT_QUOTA_EXCEEDED:
        lease.write(target, stage=Stage.QUOTA_EXCEEDED, next_check_at=_next_wechat_month(now), **words)
    else:
        _failed_unless_temporary(target, lease, error)


def _adopt_our_audit(target: ReleaseTarget, lease: Lease) -> bool:
    """If WeChat's latest audit is this release's submission, follow it (True); else False."""
    try:
        latest = wechat_calls.code_latest_audit(app_id=target.app_id)
    except WeChatError as error:
        if error.retryable:
            raise
        return False  # 86001: nothing was ever submitted
    mine = _is_ours(
        target,
        latest.get("user_version"),
        latest.get("user_desc"),
        latest.get("submit_audit_time"),
        target.submitted_at,
    )
    if not mine:
        return False
    logger.info("release target %s: following audit %s submitted before a crash", target.pk, latest.get("auditid"))
    lease.write(target, auditid=int(latest["auditid"]))
    _audit_status_apply(target, lease, latest)
    return True


# --- the audit ---------------------------------------------------------------------------------------------------


def _step_poll_audit(target: ReleaseTarget, lease: Lease) -> None:
    if target.auditid is None:  # an audit stage always has its auditid; a hand-edited row goes back to submitting
        lease.write(target, stage=Stage.SUBMITTING)
        return
    try:
        status = wechat_calls.code_audit_status(app_id=target.app_id, auditid=target.auditid)
    except WeChatError as error:
        _failed_unless_temporary(target, lease, error)
        return
    _audit_status_apply(target, lease, status)


def _audit_status_apply(target: ReleaseTarget, lease: Lease, answer: dict[str, Any]) -> None:
    """get_auditstatus's (or get_latest_auditstatus's) word on the audit, as a stage."""
    now, status = timezone.now(), int(answer.get("status", AUDIT_AUDITING))
    reason, screenshot = (
        str(answer.get("reason") or ""),
        str(answer.get("ScreenShot") or answer.get("screenshot") or ""),
    )
    if status == AUDIT_APPROVED:
        lease.write(target, stage=Stage.APPROVED, audit_ended_at=now, next_check_at=None, wechat_message="")
    elif status == AUDIT_REJECTED:
        lease.write(target, stage=Stage.AUDIT_FAILED, audit_ended_at=now, wechat_message=reason, screenshot=screenshot)
    elif status == AUDIT_WITHDRAWN:
        lease.write(target, stage=Stage.FAILED, wechat_message="The audit was withdrawn (撤回).")
    elif status == AUDIT_DELAYED:
        lease.write(target, stage=Stage.AUDIT_DELAYED, wechat_message=reason, next_check_at=now + conf.audit_poll())
    else:
        lease.write(target, stage=Stage.AUDITING, next_check_at=now + conf.audit_poll())


# --- release -----------------------------------------------------------------------------------------------------


def _step_approved(target: ReleaseTarget, lease: Lease) -> None:
    # wxa/release publishes the mini-program's latest approved audit: make sure that is still ours.
    latest = wechat_calls.code_latest_audit(app_id=target.app_id)
    if target.auditid is not None and int(latest.get("auditid", 0)) != target.auditid:
        newer = f"A newer submission ({latest.get('user_version')}) replaced this version; not released."
        lease.write(target, stage=Stage.FAILED, wechat_message=newer)
        return
    lease.write(target, stage=Stage.RELEASING)
    _release(target, lease)


def _step_releasing(target: ReleaseTarget, lease: Lease) -> None:
    """Found after a crash around wxa/release: the online version tells whether the release went through."""
    if not _released_already(target, lease):
        _release(target, lease)


def _release(target: ReleaseTarget, lease: Lease) -> None:
    try:
        wechat_calls.code_release(app_id=target.app_id)
    except WeChatError as error:
        if error.errcode in (ALREADY_RELEASED, NO_AUDITED_VERSION) and _released_already(target, lease):
            return
        if error.errcode == RELEASE_NOT_ALLOWED:
            # The audit is not (or no longer) approved: follow it again.
            words = {"errcode": error.errcode, "wechat_message": error.errmsg}
            lease.write(target, stage=Stage.AUDITING, next_check_at=None, **words)
            return
        _failed_unless_temporary(target, lease, error)
        return
    lease.write(target, stage=Stage.RELEASED, released_at=timezone.now(), errcode=None, wechat_message="")


def _released_already(target: ReleaseTarget, lease: Lease) -> bool:
    info = wechat_calls.code_version_info(app_id=target.app_id).get("release_info") or {}
    release = target.release
    if info.get("release_version") == release.user_version and info.get("release_desc") == release.user_desc:
        lease.write(target, stage=Stage.RELEASED, released_at=timezone.now(), errcode=None, wechat_message="")
        return True
    return False


# --- shared ------------------------------------------------------------------------------------------------------


def _is_ours(target: ReleaseTarget, version: Any, desc: Any, wechat_time: Any, our_time: datetime | None) -> bool:
    """WeChat's version (or audit) is this release's: same version and description, dated after our step began."""
    release = target.release
    if version != release.user_version or desc != release.user_desc or our_time is None:
        return False
    try:
        dated = datetime.fromtimestamp(int(wechat_time), tz=UTC)
    except (TypeError, ValueError):
        return False
    return dated >= our_time - CLOCK_SLACK


def _failed_unless_temporary(target: ReleaseTarget, lease: Lease, error: WeChatError) -> None:
    """A temporary error is raised (the job retries from the recorded stage); anything else fails the target."""
    if error.retryable:
        raise error
    lease.write(target, stage=Stage.FAILED, errcode=error.errcode, wechat_message=error.errmsg)


def _next_wechat_month(now: datetime) -> datetime:
    """The first moment of WeChat's next month, when the monthly audit quota starts again."""
    local = now.astimezone(WECHAT_TIME)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=WECHAT_TIME)


Step = Callable[[ReleaseTarget, Lease], None]
STEPS: dict[Stage, Step] = {
    Stage.PENDING: _step_pending,
    Stage.COMMITTING: _step_committing,
    Stage.COMMITTED: _step_submit,
    Stage.SUBMITTING: _step_submitting,
    Stage.WAITING_PRIVACY: _step_submit,
    Stage.AUDIT_BUSY: _step_submit,
    Stage.QUOTA_EXCEEDED: _step_submit,
    Stage.AUDITING: _step_poll_audit,
    Stage.AUDIT_DELAYED: _step_poll_audit,
    Stage.APPROVED: _step_approved,
    Stage.RELEASING: _step_releasing,
}
