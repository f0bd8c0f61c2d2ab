"""A release over 20 tenants run by real rq workers against the fake WeChat: one audit fails, one tenant is at
its monthly quota, and one of two workers is killed with SIGKILL (with its work horse) in the middle of a commit.
The other finishes the release from the recorded stages; the fake's own records show no tenant committed twice."""

import os
import signal
import time
from collections import Counter

import pytest

from component.releases.models import ReleaseTarget, Stage
from component.releases.services import release_start
from component.releases.tests.conftest import registered_tenants
from tests.workers import FAST_RECOVERY_ENV, running_workers, wait_for
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.templates import TemplatesControl

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tenant_db")]

TENANTS = 20
COMMIT = "/wxa/commit"
# Seconds: short waits so that the whole release takes seconds (production: minutes to hours, settings/releases.py).
RELEASE_ENV = {
    "RELEASES_LEASE_SECONDS": "4",
    "RELEASES_TICK_SECONDS": "1",
    "RELEASES_AUDIT_POLL_SECONDS": "1",
    "RELEASES_PRIVACY_RETRY_SECONDS": "1",
}
SETTLED = {Stage.RELEASED, Stage.AUDIT_FAILED, Stage.QUOTA_EXCEEDED}


def stages(release_id: int) -> Counter[str]:
    return Counter(ReleaseTarget.objects.filter(release_id=release_id).values_list("stage", flat=True))


def unsettled(release_id: int) -> list[tuple]:
    targets = ReleaseTarget.objects.filter(release_id=release_id).exclude(stage__in=SETTLED)
    return list(targets.values_list("app_id", "stage", "errcode", "wechat_message", "next_check_at", "lease_until"))


def test_a_release_over_20_tenants_survives_a_kill_9_mid_commit_and_commits_each_tenant_once(
    wechat: FakeWeChatServer, code: TemplatesControl, template_id: int, tmp_path, settings
):
    for name, value in RELEASE_ENV.items():  # this process starts the release: the same settings as the workers
        setattr(settings, name, int(value))
    app_ids = registered_tenants(wechat, TENANTS)
    rejected, at_quota, slow_privacy = app_ids[3], app_ids[7], app_ids[11]
    for app_id in app_ids:
        code.set_app(app_id, audit_outcome="success")
    code.set_app(rejected, audit_outcome="fail", fail_reason="页面存在测试内容")
    code.set_app(at_quota, quota_exceeded=True)
    code.set_app(slow_privacy, privacy_wait_calls=2)
    # Every commit takes a while, so the worker is in the middle of one when it is killed.
    wechat.control.set_delay(COMMIT, 1.0)
    ext = {"ext": {"shop": "$name"}, "per_tenant": {app_ids[0]: {"ext": {"banner": "开业大吉"}}}}

    release = release_start(
        template_id=template_id,
        app_ids=app_ids,
        user_version="2.0.0",
        user_desc="new checkout",
        ext_json_template=ext,
        auto_release=True,
        started_by="test",
    )
    # The periodic releases_tick polls the audits and hands out lost targets: on for these workers (the suite's
    # workers run only what a test enqueued otherwise).
    env = {"WECHAT_API_BASE": wechat.base_url, "PERIODIC_JOBS_ENABLED": "true", **FAST_RECOVERY_ENV, **RELEASE_ENV}

    with running_workers(2, tmp_path, **env) as workers:
        wait_for(
            lambda: stages(release.pk)[Stage.COMMITTING] >= 1 and stages(release.pk)[Stage.PENDING] <= TENANTS - 4,
            60,
            lambda: workers[0].log(),
        )
        victim = next(worker for worker in workers if worker.horse_pid() is not None)
        victim.remember_family()
        for pid in [victim.pid, *victim.family]:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        in_flight = set(
            ReleaseTarget.objects.filter(release=release, stage=Stage.COMMITTING).values_list("app_id", flat=True)
        )
        print(f"\nkilled a worker mid-commit; committing then: {sorted(in_flight)}; {dict(stages(release.pk))}")
        wechat.control.set_delay(COMMIT, 0)
        survivor = next(worker for worker in workers if worker is not victim)
        wait_for(
            lambda: sum(stages(release.pk)[stage] for stage in SETTLED) == TENANTS,
            90,
            lambda: f"{unsettled(release.pk)}\n{survivor.log()[-3000:]}",
        )
    print(f"settled {time.monotonic() - killed_at:.1f}s after the kill: {dict(stages(release.pk))}")

    final = {target.app_id: target for target in ReleaseTarget.objects.filter(release=release)}
    assert stages(release.pk) == {Stage.RELEASED: TENANTS - 2, Stage.AUDIT_FAILED: 1, Stage.QUOTA_EXCEEDED: 1}
    assert final[rejected].stage == Stage.AUDIT_FAILED
    assert final[rejected].wechat_message == "页面存在测试内容"
    assert (final[at_quota].stage, final[at_quota].errcode) == (Stage.QUOTA_EXCEEDED, 85085)
    assert all(final[app_id].stage in SETTLED for app_id in in_flight)

    for app_id in app_ids:
        seen = code.app(app_id)
        assert len(seen["commits"]) == 1, f"{app_id} committed {len(seen['commits'])} times"
        assert wechat.control.counters(app_id)[COMMIT] == 1
        assert seen["commits"][0]["ext"]["extAppid"] == app_id
        assert len(seen["audits"]) == (0 if app_id == at_quota else 1)
        if final[app_id].stage == Stage.RELEASED:
            assert seen["release_info"]["release_version"] == "2.0.0"
    assert code.app(app_ids[0])["commits"][0]["ext"]["ext"] == {
        "shop": "店铺 0",
        "banner": "开业大吉",
        "name": "店铺 0",
    }
    assert wechat.control.counters(slow_privacy)["/wxa/submit_audit"] == 3  # two 61039 waits, then the audit
