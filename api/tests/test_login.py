import pytest

from accounts.models import AuthToken, MiniProgramUser
from api.tests.conftest import TenantClient, new_code
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B, free_port
from wechat.fake_server import fake_openid, fake_unionid

pytestmark = pytest.mark.usefixtures("wechat")


def users_of(app_id):
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
        return [
            {"openid": user.openid, "unionid": user.unionid, "session_key": user.session_key}
            for user in MiniProgramUser.objects.all()
        ]


def test_login_exchanges_the_code_creates_the_user_and_answers_a_working_token():
    client = TenantClient(TENANT_A)
    response = client.login("code-alice")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["openid"] == fake_openid(TENANT_A, "code-alice")
    assert body["user"]["unionid"] == fake_unionid("code-alice")
    assert "session_key" not in body["user"]
    assert len(body["token"]) >= 40
    assert client.get("/api/v1/me").json()["openid"] == fake_openid(TENANT_A, "code-alice")
    [user] = users_of(TENANT_A)
    assert user["session_key"]  # kept on the server


def test_a_second_login_of_the_same_user_keeps_one_row_and_the_latest_session_key_only(wechat):
    client = TenantClient(TENANT_A)
    first = client.login("code-bob").json()
    first_key = users_of(TENANT_A)[0]["session_key"]
    second = client.login("code-bob~2").json()  # the same person's next wx.login
    assert second["user"]["id"] == first["user"]["id"]
    [user] = users_of(TENANT_A)
    assert user["session_key"] != first_key
    assert user["openid"] == fake_openid(TENANT_A, "code-bob")


def test_the_same_person_under_two_tenants_is_two_separate_users():
    token_a = TenantClient(TENANT_A).login("code-carol").json()
    token_b = TenantClient(TENANT_B).login("code-carol").json()
    assert token_a["user"]["openid"] != token_b["user"]["openid"]  # openids are per AppID
    assert [user["openid"] for user in users_of(TENANT_A)] == [token_a["user"]["openid"]]
    assert [user["openid"] for user in users_of(TENANT_B)] == [token_b["user"]["openid"]]


def test_a_token_sent_with_another_app_id_is_401_not_authenticated():
    token = TenantClient(TENANT_A).login().json()["token"]
    TenantClient(TENANT_B).login()  # tenant B has users and tokens of its own
    response = TenantClient(TENANT_B, token).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert TenantClient(TENANT_A, token).get("/api/v1/me").status_code == 200


def test_logout_revokes_the_token_in_the_database():
    client = TenantClient(TENANT_A)
    client.login()
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/me").json()["error"]["code"] == "not_authenticated"
    assert client.post("/api/v1/auth/logout").status_code == 401
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        assert AuthToken.objects.count() == 0


def test_missing_and_malformed_tokens_are_401():
    for header in ("", "Bearer", "Bearer a b", "Bearer not-a-token", "Token abc"):
        response = TenantClient(TENANT_A).get("/api/v1/me", Authorization=header)
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [
        (40029, 400, "wechat_code_invalid"),
        (40163, 400, "wechat_code_invalid"),  # "code been used"
        (45011, 429, "wechat_rate_limited"),
        (40226, 403, "wechat_user_blocked"),
        (-1, 503, "service_unavailable"),
        (40125, 502, "wechat_misconfigured"),
        (40013, 502, "wechat_misconfigured"),
    ],
)
def test_wechat_login_errors_become_clear_api_errors_and_create_no_user(wechat, errcode, status, code):
    wechat.control.fail_next("/sns/jscode2session", errcode=errcode, app_id=TENANT_A)
    response = TenantClient(TENANT_A).login()
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status in (429, 503):
        assert int(response["Retry-After"]) > 0
    assert users_of(TENANT_A) == []


def test_a_reused_code_is_400_wechat_code_invalid():
    code = new_code()
    assert TenantClient(TENANT_A).login(code).status_code == 200
    response = TenantClient(TENANT_A).login(code)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "wechat_code_invalid")


@pytest.mark.slow
def test_a_slow_wechat_is_503_with_retry_after(wechat):
    wechat.control.set_delay("/sns/jscode2session", 1.5, app_id=TENANT_A)
    response = TenantClient(TENANT_A).login()
    assert (response.status_code, response.json()["error"]["code"]) == (503, "service_unavailable")
    assert response["Retry-After"] == "5"


def test_an_unreachable_wechat_is_503(settings):
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{free_port()}"
    response = TenantClient(TENANT_A).login()
    assert (response.status_code, response.json()["error"]["code"]) == (503, "service_unavailable")


def test_a_tenant_without_an_app_secret_is_502_and_says_why():
    Tenant.objects.filter(app_id=TENANT_B).update(app_secret_encrypted="")  # the cleanup restores it
    response = TenantClient(TENANT_B).login()
    assert (response.status_code, response.json()["error"]["code"]) == (502, "wechat_misconfigured")


def test_login_validates_its_body():
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", {"code": ""})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "code" in response.json()["error"]["fields"]
