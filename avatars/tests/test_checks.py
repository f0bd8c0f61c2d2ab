"""WeChat's check of an avatar: the submission (media_check_async v2 with the user's openid), the pushed verdict
(pass, risky, review) matched by trace_id, and a verdict that never reaches another tenant's avatars."""

import pytest

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from avatars.checks import CheckNotRecordedYet, media_check_pushed
from avatars.models import Avatar, AvatarCheck
from avatars.tests.conftest import MediaControl, run_jobs, stored_files, upload
from avatars.tests.images import image_bytes
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import wait_for
from wechat.fake_server import fake_openid

pytestmark = pytest.mark.usefixtures("tenant_db", "queue_name")


def in_tenant(app_id: str):  # noqa: ANN201
    return activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id)))


def deliver_pushed(media: MediaControl, app_id: str, *, into: str | None = None) -> list[dict]:
    """The answers the fake pushed for app_id's checks, handed to the handler as the push receiver does."""
    results = []
    for check in media.checks(app_id):
        for message in check["pushed"]:
            with in_tenant(into or app_id):
                results.append(media_check_pushed(message))
    return results


def pushed_once(media: MediaControl, app_id: str, count: int = 1) -> None:
    """Waits until the fake has pushed `count` answers for app_id (it pushes from a thread of its own)."""
    wait_for(lambda: sum(len(check["pushed"]) for check in media.checks(app_id)) >= count, 10)


def me(client: TenantClient) -> dict:
    return client.get("/api/v1/me").json()


def test_upload_checked_pass_becomes_the_avatar_and_replaces_the_previous_one(logged_in, media, media_root):
    alice = logged_in(TENANT_A, "code-alice")
    assert upload(alice, image_bytes("JPEG", color="red")).status_code == 202
    assert run_jobs() == 0
    [check] = media.checks(TENANT_A)
    # media_check_async v2 for an image, in the profile scene, with the user's own openid.
    assert (check["media_type"], check["scene"]) == (2, 1)
    assert check["openid"] == fake_openid(TENANT_A, "code-alice")
    with in_tenant(TENANT_A):
        first = Avatar.objects.get()
        assert check["media_url"] == first.public_url
        assert AvatarCheck.objects.get().trace_id == check["trace_id"]
        assert first.submissions == 1
    assert me(alice)["avatar_state"] == "pending"
    pushed_once(media, TENANT_A)
    [result] = deliver_pushed(media, TENANT_A)
    assert result["status"] == "approved"
    assert (me(alice)["avatar_url"], me(alice)["avatar_state"]) == (first.public_url, "approved")

    # A second upload: the first stays the avatar while the second is checked, then gives way (file deleted).
    assert upload(alice, image_bytes("PNG", color="blue"), name="b.png").status_code == 202
    run_jobs()
    assert me(alice)["avatar_url"] == first.public_url
    assert me(alice)["avatar_state"] == "pending"
    pushed_once(media, TENANT_A, count=2)
    with in_tenant(TENANT_A):
        second_check = AvatarCheck.objects.get(avatar__image_format="PNG")
        media_check_pushed(media.checks(TENANT_A)[1]["pushed"][0])
        second = Avatar.objects.get(pk=second_check.avatar_id)
        assert Avatar.objects.get(pk=first.pk).status == Avatar.Status.REPLACED
    assert (me(alice)["avatar_url"], me(alice)["avatar_state"]) == (second.public_url, "approved")
    assert stored_files(media_root) == [second.file_name]


def test_a_risky_upload_is_deleted_and_the_previous_avatar_stays(logged_in, media, media_root):
    alice = logged_in(TENANT_A, "code-alice")
    with in_tenant(TENANT_A):  # an avatar WeChat passed earlier (a URL is never set through the API)
        MiniProgramUser.objects.filter(openid=me(alice)["openid"]).update(avatar_url="https://img.example.com/old.png")
    media.verdict("risky", app_id=TENANT_A)
    assert upload(alice, image_bytes("JPEG")).status_code == 202
    run_jobs()
    pushed_once(media, TENANT_A)
    [result] = deliver_pushed(media, TENANT_A)
    assert result["status"] == "rejected"
    assert stored_files(media_root) == []
    assert (me(alice)["avatar_url"], me(alice)["avatar_state"]) == ("https://img.example.com/old.png", "rejected")
    with in_tenant(TENANT_A):
        avatar = Avatar.objects.get()
        assert (avatar.suggest, avatar.label, avatar.file_name) == ("risky", "20002", "")


def test_review_keeps_the_upload_pending_for_a_person_and_the_console_shows_it(logged_in, media, admin_client):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("review", app_id=TENANT_A)
    assert upload(alice, image_bytes("WEBP")).status_code == 202
    run_jobs()
    pushed_once(media, TENANT_A)
    [result] = deliver_pushed(media, TENANT_A)
    assert result["status"] == "review"
    assert (me(alice)["avatar_url"], me(alice)["avatar_state"]) == ("", "pending")
    with in_tenant(TENANT_A):
        avatar = Avatar.objects.get()
        assert avatar.check_due_at is None  # answered: the sweep does not ask again
    tenant = Tenant.objects.get(app_id=TENANT_A)
    page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/avatars/")
    assert page.status_code == 200
    assert b"review" in page.content and avatar.public_url.encode() in page.content
    facts = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    assert b"avatars_to_review" in facts.content


def test_an_xml_push_with_string_numbers_is_understood(logged_in, media):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("none", app_id=TENANT_A)
    upload(alice, image_bytes("JPEG"))
    run_jobs()
    [check] = media.checks(TENANT_A)
    # What xml_parse makes of WeChat's XML: every value a string, nested elements dicts.
    message = {
        "ToUserName": "gh_x",
        "FromUserName": check["openid"],
        "CreateTime": "1700000000",
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": TENANT_A,
        "trace_id": check["trace_id"],
        "version": "2",
        "errcode": "0",
        "errmsg": "ok",
        "result": {"suggest": "pass", "label": "100"},
        "detail": {"strategy": "content_model", "errcode": "0", "suggest": "pass", "label": "100", "prob": "90"},
    }
    with in_tenant(TENANT_A):
        assert media_check_pushed(message)["status"] == "approved"


def test_a_verdict_never_reaches_another_tenants_avatars(logged_in, media, media_root):
    alice_a = logged_in(TENANT_A, "code-alice")
    alice_b = logged_in(TENANT_B, "code-alice")  # the same person: another openid, another database
    upload(alice_a, image_bytes("JPEG"))
    run_jobs()
    pushed_once(media, TENANT_A)
    [message] = media.checks(TENANT_A)[0]["pushed"]
    # Tenant A's answer handed to tenant B (a misrouted push): B has no such check, and A's appid is not B's.
    with in_tenant(TENANT_B):
        assert media_check_pushed(message) == {"applied": False, "reason": "appid"}
        with pytest.raises(CheckNotRecordedYet):  # retried for a while: our own submission may not be committed
            media_check_pushed({**message, "appid": TENANT_B})
        # Minutes after WeChat sent it, an unknown trace_id is acknowledged and dropped, not retried for ever.
        old = {**message, "appid": TENANT_B, "CreateTime": str(int(message["CreateTime"]) - 600)}
        assert media_check_pushed(old) == {"applied": False, "reason": "trace_id"}
        assert Avatar.objects.count() == 0
    assert me(alice_b)["avatar_state"] == ""
    assert me(alice_b)["avatar_url"] == ""
    # The files of A are under A's prefix only; B's user sees nothing of them.
    assert all(name.startswith(f"avatars/{TENANT_A}/") for name in stored_files(media_root))
    with in_tenant(TENANT_A):
        assert Avatar.objects.get().status == Avatar.Status.PENDING  # untouched by B's handling


def test_a_pushed_error_instead_of_a_verdict_submits_the_check_again_at_the_next_sweep(logged_in, media):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("pass", app_id=TENANT_A, errcode=-1008)
    upload(alice, image_bytes("JPEG"))
    run_jobs()
    pushed_once(media, TENANT_A)
    [result] = deliver_pushed(media, TENANT_A)
    assert result["reason"] == "errcode"
    with in_tenant(TENANT_A):
        avatar = Avatar.objects.get()
        assert avatar.status == Avatar.Status.PENDING
        assert avatar.check_due_at is not None  # due now: the sweep submits it again


def test_an_answer_for_a_replaced_upload_changes_nothing(logged_in, media):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("none", app_id=TENANT_A)
    upload(alice, image_bytes("JPEG", color="red"))
    run_jobs()
    upload(alice, image_bytes("JPEG", color="green"))
    run_jobs()
    first_trace = media.checks(TENANT_A)[0]["trace_id"]
    media.push(first_trace, suggest="pass")
    pushed_once(media, TENANT_A)
    [result] = deliver_pushed(media, TENANT_A)
    assert result["status"] == "replaced"
    assert me(alice)["avatar_url"] == ""
    assert me(alice)["avatar_state"] == "pending"


def test_an_operator_decides_an_upload_left_for_review(logged_in, media, media_root):
    from django.core.management import CommandError, call_command

    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("review", app_id=TENANT_A)
    upload(alice, image_bytes("JPEG"))
    run_jobs()
    pushed_once(media, TENANT_A)
    deliver_pushed(media, TENANT_A)
    with in_tenant(TENANT_A):
        avatar = Avatar.objects.get()
    call_command("avatar_decide", TENANT_A, str(avatar.pk), "--approve")
    assert (me(alice)["avatar_url"], me(alice)["avatar_state"]) == (avatar.public_url, "approved")
    with pytest.raises(CommandError, match="avatar_not_waiting"):
        call_command("avatar_decide", TENANT_A, str(avatar.pk), "--reject")
    with pytest.raises(CommandError, match="avatar_not_waiting"):
        call_command("avatar_decide", TENANT_B, str(avatar.pk), "--reject")  # another tenant has no such avatar
    assert stored_files(media_root) == [avatar.file_name]
