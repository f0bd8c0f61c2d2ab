import pytest

from api.tests.conftest import TenantClient
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("wechat")


@pytest.fixture
def alice():
    client = TenantClient(TENANT_A)
    assert client.login("code-alice").status_code == 200
    return client


def test_a_nickname_with_emoji_round_trips_through_the_api(alice):
    nickname = "小明😀𠜎🇨🇳"
    response = alice.patch("/api/v1/me", {"nickname": nickname})
    assert response.status_code == 200
    assert response.json()["nickname"] == nickname
    assert alice.get("/api/v1/me").json()["nickname"] == nickname


@pytest.mark.parametrize("url", ["https://img.example.com/a.png", "https://thirdwx.qlogo.cn/mmopen/x/132", "x"])
def test_an_avatar_is_never_set_by_url_only_by_an_upload_wechat_checks(alice, url):
    response = alice.patch("/api/v1/me", {"nickname": "Alice", "avatar_url": url})
    assert response.status_code == 400, response.content
    assert "POST /api/v1/me/avatar" in response.json()["error"]["fields"]["avatar_url"][0]
    me = alice.get("/api/v1/me").json()
    assert (me["nickname"], me["avatar_url"]) == ("", "")  # nothing of the request was applied
    assert alice.patch("/api/v1/me", {"avatar_url": ""}).status_code == 200  # removing it stays possible


def test_profile_lengths_and_urls_are_validated_and_nothing_changes(alice):
    before = alice.get("/api/v1/me").json()
    refused = ({"nickname": "字" * 65}, "nickname"), ({"avatar_url": "https://a.example/a.png"}, "avatar_url")
    for body, field in refused:
        response = alice.patch("/api/v1/me", body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
        assert field in response.json()["error"]["fields"]
    assert alice.get("/api/v1/me").json() == before
    assert alice.patch("/api/v1/me", {"nickname": "字" * 64}).status_code == 200


def test_me_needs_a_token():
    response = TenantClient(TENANT_A).get("/api/v1/me")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")


def test_binding_a_phone_number_stores_it(alice):
    response = alice.post("/api/v1/me/phone", {"code": "phone-13800138000"})
    assert response.status_code == 200
    assert response.json()["phone"] == "13800138000"
    assert alice.get("/api/v1/me").json()["phone"] == "13800138000"


def test_a_reused_phone_code_is_400_and_keeps_the_number(alice):
    alice.post("/api/v1/me/phone", {"code": "phone-13800138000"})
    response = alice.post("/api/v1/me/phone", {"code": "phone-13800138000"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "wechat_code_invalid")
    assert alice.get("/api/v1/me").json()["phone"] == "13800138000"


def test_a_token_rotated_behind_our_back_is_replaced_after_one_failed_call(wechat, alice):
    alice.post("/api/v1/me/phone", {"code": "phone-13800000001"})  # the holder now has a token
    wechat.control.rotate_token(TENANT_A)
    response = alice.post("/api/v1/me/phone", {"code": "phone-13800000002"})
    assert response.status_code == 200
    assert response.json()["phone"] == "13800000002"


def test_the_onboarding_bodys_app_id_publishes_the_app_id_pattern(client):
    schema = client.get("/api/schema/?format=json").json()
    app_id = schema["components"]["schemas"]["TenantListInput"]["properties"]["app_id"]
    assert app_id["pattern"] == r"^wx[0-9a-f]{16}$"


def test_avatar_state_is_empty_before_any_upload(alice):
    me = alice.get("/api/v1/me").json()
    assert (me["avatar_url"], me["avatar_state"]) == ("", "")


def test_avatar_state_is_the_newest_uploads_and_review_is_pending_to_the_user(alice):
    from accounts.models import MiniProgramUser
    from avatars.models import Avatar
    from core.tenant_context import activate_tenant
    from tenants.models import Tenant
    from tenants.selectors import tenant_context_for

    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        user = MiniProgramUser.objects.get()
        fields = {"public_url": "https://m.example.com/a.jpg", "image_format": "JPEG", "width": 1, "height": 1}
        Avatar.objects.create(user=user, status=Avatar.Status.APPROVED, size_bytes=1, **fields)
        newest = Avatar.objects.create(user=user, status=Avatar.Status.REVIEW, size_bytes=1, **fields)
    assert alice.get("/api/v1/me").json()["avatar_state"] == "pending"
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        Avatar.objects.filter(pk=newest.pk).update(status=Avatar.Status.UNCHECKED)
    assert alice.get("/api/v1/me").json()["avatar_state"] == "unchecked"
