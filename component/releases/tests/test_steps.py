"""The step machine of a release target, run in this process against the fake WeChat (the workers' test is
test_release_workers.py): each stage, WeChat's refusals that are states, and the resumes after a crash."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from component.releases import wechat_calls
from component.releases.models import Release, ReleaseTarget, Stage
from component.releases.services import (
    audit_push_apply,
    release_start,
    release_target_retry,
    release_targets_release,
)
from component.releases.steps import Lease, LeaseLost, target_advance
from tests.helpers import TENANT_A, TENANT_B
from wechat.fake_server.templates import TemplatesControl

pytestmark = pytest.mark.usefixtures("tenant_db")


def started(template_id: int, app_ids: list[str], **options) -> Release:
    defaults = {"user_version": "1.4.0", "user_desc": "spring sale", "started_by": "test"}
    return release_start(template_id=template_id, app_ids=app_ids, **(defaults | options))


def target(release: Release, app_id: str) -> ReleaseTarget:
    return ReleaseTarget.objects.get(release=release, app_id=app_id)


def advance(release: Release, app_id: str) -> ReleaseTarget:
    target_advance(target_id=target(release, app_id).pk)
    return target(release, app_id)


def due_now(release: Release, app_id: str) -> None:
    ReleaseTarget.objects.filter(release=release, app_id=app_id).update(next_check_at=timezone.now())


def test_each_tenant_commits_its_own_ext_json_and_is_released_once_approved_and_asked(
    code: TemplatesControl, template_id: int
):
    ext = {"ext": {"theme": "red", "greeting": "欢迎光临 $name"}, "per_tenant": {TENANT_B: {"ext": {"theme": "blue"}}}}
    release = started(template_id, [TENANT_A, TENANT_B], ext_json_template=ext)

    assert advance(release, TENANT_A).stage == Stage.AUDITING
    assert advance(release, TENANT_B).stage == Stage.AUDITING
    commits = {app_id: code.app(app_id)["commits"] for app_id in (TENANT_A, TENANT_B)}
    assert [commit["ext"]["ext"]["theme"] for commit in commits[TENANT_A] + commits[TENANT_B]] == ["red", "blue"]
    assert commits[TENANT_A][0]["ext"]["extAppid"] == TENANT_A
    assert commits[TENANT_A][0]["ext"]["ext"]["greeting"] == "欢迎光临 Tenant 0 😀"
    assert commits[TENANT_A][0]["user_version"] == "1.4.0"

    code.decide_audit(TENANT_A, "success")
    due_now(release, TENANT_A)
    approved = advance(release, TENANT_A)
    assert approved.stage == Stage.APPROVED  # not released: the release was started without auto_release
    assert code.app(TENANT_A)["release_info"] is None

    assert release_targets_release(release_id=release.pk) == [TENANT_A, TENANT_B]
    assert advance(release, TENANT_A).stage == Stage.RELEASED
    assert code.app(TENANT_A)["release_info"]["release_version"] == "1.4.0"
    # B is still in audit; asked to release, it goes online as soon as its audit passes.
    code.decide_audit(TENANT_B, "success")
    due_now(release, TENANT_B)
    assert advance(release, TENANT_B).stage == Stage.RELEASED


def test_61039_waits_for_the_privacy_check_and_submits_again(code: TemplatesControl, template_id: int):
    code.set_app(TENANT_A, privacy_wait_calls=2)
    release = started(template_id, [TENANT_A])

    first = advance(release, TENANT_A)
    assert (first.stage, first.errcode, first.attempts) == (Stage.WAITING_PRIVACY, 61039, 1)
    assert "privacy" in first.wechat_message
    assert advance(release, TENANT_A).attempts == 1  # not due yet: WeChat is not asked again
    due_now(release, TENANT_A)
    assert advance(release, TENANT_A).attempts == 2
    due_now(release, TENANT_A)
    audited = advance(release, TENANT_A)
    assert (audited.stage, audited.errcode, audited.attempts) == (Stage.AUDITING, None, 0)
    assert audited.auditid == code.app(TENANT_A)["audits"][0]["auditid"]
    assert len(code.app(TENANT_A)["commits"]) == 1


def test_61039_past_the_allowed_tries_fails_the_tenant_with_wechats_words(code, template_id, settings):
    settings.RELEASES_PRIVACY_MAX_TRIES = 2
    code.set_app(TENANT_A, privacy_wait_calls=5)
    release = started(template_id, [TENANT_A])
    advance(release, TENANT_A)
    due_now(release, TENANT_A)
    failed = advance(release, TENANT_A)
    assert (failed.stage, failed.errcode) == (Stage.FAILED, 61039)


def test_85085_waits_for_next_month_and_a_retry_submits_again(code: TemplatesControl, template_id: int):
    code.set_app(TENANT_A, quota_exceeded=True)
    release = started(template_id, [TENANT_A])

    waiting = advance(release, TENANT_A)
    assert (waiting.stage, waiting.errcode) == (Stage.QUOTA_EXCEEDED, 85085)
    assert waiting.next_check_at is not None and waiting.next_check_at > timezone.now() + timedelta(hours=1)
    assert advance(release, TENANT_A).stage == Stage.QUOTA_EXCEEDED  # not due: nothing asked of WeChat
    assert code.app(TENANT_A)["audits"] == []

    code.set_app(TENANT_A, quota_exceeded=False)
    assert release_target_retry(target_id=waiting.pk).stage == Stage.COMMITTED  # committed already: not again
    assert advance(release, TENANT_A).stage == Stage.AUDITING
    assert len(code.app(TENANT_A)["commits"]) == 1


def test_85009_for_another_versions_audit_waits_until_it_ends(code: TemplatesControl, template_id: int):
    first = started(template_id, [TENANT_A], user_version="1.3.9")
    assert advance(first, TENANT_A).stage == Stage.AUDITING
    second = started(template_id, [TENANT_A], user_version="1.4.0")

    busy = advance(second, TENANT_A)
    assert (busy.stage, busy.errcode) == (Stage.AUDIT_BUSY, 85009)
    code.decide_audit(TENANT_A, "fail", reason="页面空白")
    due_now(second, TENANT_A)
    assert advance(second, TENANT_A).stage == Stage.AUDITING
    assert [audit["user_version"] for audit in code.app(TENANT_A)["audits"]] == ["1.3.9", "1.4.0"]


def test_a_failed_audit_keeps_wechats_reason_and_screenshots(code: TemplatesControl, template_id: int):
    release = started(template_id, [TENANT_A])
    advance(release, TENANT_A)
    code.decide_audit(TENANT_A, "fail", reason="类目不符")
    due_now(release, TENANT_A)
    failed = advance(release, TENANT_A)
    assert (failed.stage, failed.wechat_message) == (Stage.AUDIT_FAILED, "类目不符")
    assert failed.screenshot == "fake-media-id-1|fake-media-id-2"
    assert failed.audit_ended_at is not None


def test_a_commit_that_went_through_before_a_crash_is_not_made_again(code: TemplatesControl, template_id: int):
    release = started(template_id, [TENANT_A])
    row = target(release, TENANT_A)
    # The job wrote "committing", WeChat took the commit, and the job died before recording the answer.
    ReleaseTarget.objects.filter(pk=row.pk).update(stage=Stage.COMMITTING, commit_started_at=timezone.now())
    wechat_calls.code_commit(
        app_id=TENANT_A, template_id=template_id, ext_json=row.ext_json, user_version="1.4.0", user_desc="spring sale"
    )

    assert advance(release, TENANT_A).stage == Stage.AUDITING
    assert len(code.app(TENANT_A)["commits"]) == 1


def test_a_commit_that_never_reached_wechat_is_made_on_resume(code: TemplatesControl, template_id: int):
    release = started(template_id, [TENANT_A])
    ReleaseTarget.objects.filter(release=release).update(stage=Stage.COMMITTING, commit_started_at=timezone.now())
    assert advance(release, TENANT_A).stage == Stage.AUDITING
    assert len(code.app(TENANT_A)["commits"]) == 1


def test_a_submission_and_a_release_that_went_through_before_a_crash_are_followed_not_repeated(
    code: TemplatesControl, template_id: int
):
    release = started(template_id, [TENANT_A], auto_release=True)
    row = target(release, TENANT_A)
    ReleaseTarget.objects.filter(pk=row.pk).update(stage=Stage.COMMITTED, committed_at=timezone.now())
    wechat_calls.code_commit(
        app_id=TENANT_A, template_id=template_id, ext_json=row.ext_json, user_version="1.4.0", user_desc="spring sale"
    )
    ReleaseTarget.objects.filter(pk=row.pk).update(stage=Stage.SUBMITTING, submitted_at=timezone.now())
    auditid = wechat_calls.code_submit_audit(app_id=TENANT_A, request={})

    resumed = advance(release, TENANT_A)
    assert (resumed.stage, resumed.auditid) == (Stage.AUDITING, auditid)
    assert len(code.app(TENANT_A)["audits"]) == 1

    code.decide_audit(TENANT_A, "success")
    ReleaseTarget.objects.filter(pk=row.pk).update(stage=Stage.RELEASING)
    wechat_calls.code_release(app_id=TENANT_A)
    assert advance(release, TENANT_A).stage == Stage.RELEASED  # 85052 from WeChat was not needed: version info


def test_audit_pushes_end_the_audit_of_the_tenants_release(code: TemplatesControl, template_id: int):
    release = started(template_id, [TENANT_A, TENANT_B], auto_release=True)
    advance(release, TENANT_A)
    advance(release, TENANT_B)
    code.decide_audit(TENANT_A, "success")
    code.decide_audit(TENANT_B, "fail")

    audit_push_apply(app_id=TENANT_A, message={"MsgType": "event", "Event": "weapp_audit_success", "SuccTime": "1"})
    fail = {"MsgType": "event", "Event": "weapp_audit_fail", "Reason": "存在测试内容", "ScreenShot": "m1|m2"}
    audit_push_apply(app_id=TENANT_B, message=fail)

    assert target(release, TENANT_A).stage == Stage.APPROVED
    assert advance(release, TENANT_A).stage == Stage.RELEASED  # auto_release: the enqueued job's work
    failed = target(release, TENANT_B)
    assert (failed.stage, failed.wechat_message, failed.screenshot) == (Stage.AUDIT_FAILED, "存在测试内容", "m1|m2")
    # A push again (WeChat retries) changes nothing that moved on.
    audit_push_apply(app_id=TENANT_A, message={"MsgType": "event", "Event": "weapp_audit_delay", "Reason": "x"})
    assert target(release, TENANT_A).stage == Stage.RELEASED


def test_release_85020_goes_back_to_following_the_audit(code: TemplatesControl, template_id: int):
    release = started(template_id, [TENANT_A], auto_release=True)
    advance(release, TENANT_A)
    # Our record says approved, WeChat's audit does not (it is still auditing): 85020 on release.
    ReleaseTarget.objects.filter(release=release).update(stage=Stage.APPROVED)
    back = advance(release, TENANT_A)
    assert (back.stage, back.errcode) == (Stage.AUDITING, 85020)


def test_one_job_at_a_time_owns_a_target_and_a_lost_lease_writes_nothing(code, template_id, wechat):
    release = started(template_id, [TENANT_A])
    row = target(release, TENANT_A)
    first, second = Lease(row.pk), Lease(row.pk)
    assert first.take()
    assert not second.take()
    assert target_advance(target_id=row.pk) == "busy"

    ReleaseTarget.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # ran out
    assert second.take()
    with pytest.raises(LeaseLost):
        first.write(row, stage=Stage.FAILED)
    assert target(release, TENANT_A).stage == Stage.PENDING
    assert code.app(TENANT_A)["commits"] == []
    # A job whose lease ran out in the middle stops quietly and writes nothing more.
    ReleaseTarget.objects.filter(pk=row.pk).update(lease_owner="", lease_until=None)
    code.set_app(TENANT_A, audit_outcome="manual")
    wechat.control.set_delay("/wxa/commit", 0.5)
    thief = threading.Timer(0.2, lambda: ReleaseTarget.objects.filter(pk=row.pk).update(lease_owner="another-job"))
    thief.start()
    assert target_advance(target_id=row.pk) == "busy"
    thief.join()
    wechat.control.set_delay("/wxa/commit", 0)
    assert target(release, TENANT_A).stage == Stage.COMMITTING  # the commit's answer was not recorded by the loser


def test_a_release_names_only_active_tenants_and_checks_its_version(code, template_id):
    from component.releases.exceptions import ReleaseInvalid

    with pytest.raises(ReleaseInvalid, match="wx00000000000000ff"):
        started(template_id, [TENANT_A, "wx00000000000000ff"])
    with pytest.raises(ReleaseInvalid, match="64"):
        started(template_id, [TENANT_A], user_version="9" * 65)
    with pytest.raises(ReleaseInvalid, match="per_tenant"):
        started(template_id, [TENANT_A], ext_json_template={"per_tenant": []})
    assert not Release.objects.exists()


def test_an_approved_version_replaced_by_a_newer_submission_is_not_released_in_its_place(code, template_id):
    first = started(template_id, [TENANT_A], user_version="1.3.9")
    advance(first, TENANT_A)
    code.decide_audit(TENANT_A, "success")
    due_now(first, TENANT_A)
    assert advance(first, TENANT_A).stage == Stage.APPROVED
    second = started(template_id, [TENANT_A], user_version="1.4.0", auto_release=True)
    assert advance(second, TENANT_A).stage == Stage.AUDITING  # WeChat allows a new audit after an approval
    code.decide_audit(TENANT_A, "success")

    release_targets_release(release_id=first.pk)
    stale = advance(first, TENANT_A)
    assert stale.stage == Stage.FAILED
    assert "1.4.0" in stale.wechat_message
    assert code.app(TENANT_A)["release_info"] is None
    due_now(second, TENANT_A)
    assert advance(second, TENANT_A).stage == Stage.RELEASED
    assert code.app(TENANT_A)["release_info"]["release_version"] == "1.4.0"


def test_the_periodic_job_hands_out_due_targets_once_and_the_push_handlers_are_registered(code, template_id):
    from component.releases.jobs import releases_tick
    from pushes.handlers import push_handler_path
    from tenants.jobs.periodic import periodic_jobs_registered
    from tests.workers import jobs_queue

    assert {push_handler_path(f"weapp_audit_{end}") for end in ("success", "fail", "delay")} == {
        "component.releases.jobs.audit_push_received"
    }
    assert "component.releases.jobs.releases_tick" in {job.func for job in periodic_jobs_registered()}

    release = started(template_id, [TENANT_A, TENANT_B])
    advance(release, TENANT_A)
    advance(release, TENANT_B)
    due_now(release, TENANT_A)  # A's audit is due a poll; B's is not
    queued = len(jobs_queue())
    assert releases_tick() == {"enqueued": 1}
    assert len(jobs_queue()) == queued + 1
    assert releases_tick() == {"enqueued": 0}  # handed out already: not again while its job waits
    assert target(release, TENANT_A).handed_out_until is not None
    advance(release, TENANT_A)  # the job runs: the hand-out is used up
    assert target(release, TENANT_A).handed_out_until is None


def test_a_suspended_tenant_is_not_committed_and_a_retry_goes_on_once_it_is_active(code, template_id):
    from tenants.models import Tenant

    release = started(template_id, [TENANT_A])
    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.SUSPENDED)
    failed = advance(release, TENANT_A)
    assert (failed.stage, failed.errcode) == (Stage.FAILED, None)
    assert failed.wechat_message.startswith("tenant_suspended:")
    assert code.app(TENANT_A)["commits"] == []

    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.ACTIVE)
    assert release_target_retry(target_id=failed.pk).stage == Stage.PENDING  # never committed: from the start
    assert advance(release, TENANT_A).stage == Stage.AUDITING


def test_wechat_busy_is_raised_for_the_jobs_retry_and_the_stage_is_the_resume_point(code, template_id, wechat):
    from wechat.exceptions import WeChatBusy

    release = started(template_id, [TENANT_A])
    wechat.control.fail_next("/wxa/commit", errcode=-1, app_id=TENANT_A)
    with pytest.raises(WeChatBusy):
        target_advance(target_id=target(release, TENANT_A).pk)
    waiting = target(release, TENANT_A)
    assert (waiting.stage, waiting.lease_until) == (Stage.COMMITTING, None)
    assert waiting.handed_out_until is not None  # left to the job's own retry, not handed out beside it
    assert advance(release, TENANT_A).stage == Stage.AUDITING  # the retry: version info, then the commit
    assert len(code.app(TENANT_A)["commits"]) == 1


def test_a_secret_mode_tenant_or_a_cancelled_authorization_fails_with_our_words_before_any_wechat_call(
    code, template_id
):
    from component.models import Authorizer
    from tenants.models import Tenant

    release = started(template_id, [TENANT_A, TENANT_B])
    Tenant.objects.filter(app_id=TENANT_A).update(auth_mode=Tenant.AuthMode.SECRET)  # its own AppSecret
    Authorizer.objects.filter(app_id=TENANT_B).update(status=Authorizer.Status.UNAUTHORIZED)
    secret_mode, cancelled = advance(release, TENANT_A), advance(release, TENANT_B)
    assert (secret_mode.stage, secret_mode.errcode) == (Stage.FAILED, None)
    assert secret_mode.wechat_message.startswith("tenant_not_authorized_for_code:")
    assert "own AppSecret" in secret_mode.wechat_message
    assert (cancelled.stage, cancelled.errcode) == (Stage.FAILED, None)
    assert cancelled.wechat_message.startswith("tenant_not_authorized_for_code:")
    assert "cancelled" in cancelled.wechat_message
    assert code.app(TENANT_A)["commits"] == [] and code.app(TENANT_B)["commits"] == []
