"""The whole way over real HTTP: the upload, the check submitted to the fake WeChat, its verdict pushed (signed and
encrypted in the tenant's push mode) to this process's Django at /wechat/v1/push/<app_id>, and the handler run
by the push's tenant job. Also: the handler is the registered one for `wxa_media_check`."""

import pytest

from avatars.models import Avatar
from avatars.tests.conftest import run_jobs, stored_files, upload
from avatars.tests.images import image_bytes
from core.tenant_context import activate_tenant
from pushes.handlers import push_handler_path
from pushes.models import PushRecord
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.live import live_django
from tests.workers import wait_for


def in_tenant(app_id: str):  # noqa: ANN201
    return activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id)))


def pushes_received(app_id: str) -> int:
    with in_tenant(app_id):
        return PushRecord.objects.filter(kind="wxa_media_check").count()


def test_wxa_media_check_is_handled_by_avatars():
    assert push_handler_path("wxa_media_check") == "avatars.checks.media_check_pushed"


@pytest.fixture
def pushed_to_us(wechat, push_tenant):  # noqa: ANN001, ANN201
    """The session tenants' push settings, and the fake WeChat pushing to this process served over HTTP."""
    with live_django() as base_url:
        for app_id, mode, data_format in ((TENANT_A, "safe", "xml"), (TENANT_B, "compatible", "json")):
            tenant = push_tenant(app_id, mode=mode, data_format=data_format)
            wechat.control.set_push_target(
                app_id,
                url=f"{base_url}/wechat/v1/push/{app_id}",
                token=tenant.token,
                aes_key=tenant.aes_key,
                mode=mode,
                data_format=data_format,
            )
        yield


VERDICTS = [("pass", "approved", True), ("risky", "rejected", False), ("review", "pending", True)]


@pytest.mark.parametrize(("suggest", "state", "kept"), VERDICTS)
@pytest.mark.usefixtures("pushed_to_us")
def test_an_upload_through_wechats_pushed_verdict(logged_in, media, media_root, suggest, state, kept):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict(suggest, app_id=TENANT_A)
    assert upload(alice, image_bytes("JPEG")).status_code == 202
    run_jobs()  # the submission: the fake answers a trace_id, then pushes its verdict to /wechat/v1/push/<app_id>
    wait_for(lambda: pushes_received(TENANT_A) == 1, 10, "no wxa_media_check push reached the receiver")
    # The push's tenant job may beat the submission's commit; it is then retried, so a second pass may be needed.
    wait_for(lambda: run_jobs() == 0 and alice.get("/api/v1/me").json()["avatar_state"] == state, 10)
    with in_tenant(TENANT_A):
        avatar = Avatar.objects.get()
    me = alice.get("/api/v1/me").json()
    assert me["avatar_url"] == (avatar.public_url if suggest == "pass" else "")
    assert (stored_files(media_root) == [avatar.file_name]) is kept and bool(avatar.file_name) is kept
    assert avatar.suggest == suggest


@pytest.mark.usefixtures("pushed_to_us")
def test_a_verdict_pushed_twice_is_applied_once_and_tenant_b_sees_nothing(logged_in, media, wechat):
    alice_a = logged_in(TENANT_A, "code-alice")
    alice_b = logged_in(TENANT_B, "code-alice")
    media.verdict("pass", app_id=TENANT_A)
    upload(alice_a, image_bytes("PNG"), name="a.png")
    run_jobs()
    wait_for(lambda: pushes_received(TENANT_A) == 1, 10)
    [check] = media.checks(TENANT_A)
    # WeChat's retry of the same push (same sender, time, event and trace_id): recorded once, no second effect.
    wechat.control.push(TENANT_A, check["pushed"][0], duplicates=2, wait=True)
    wait_for(lambda: run_jobs() == 0 and alice_a.get("/api/v1/me").json()["avatar_state"] == "approved", 10)
    assert pushes_received(TENANT_A) == 1
    assert pushes_received(TENANT_B) == 0
    assert alice_b.get("/api/v1/me").json()["avatar_state"] == ""
    with in_tenant(TENANT_B):
        assert Avatar.objects.count() == 0
