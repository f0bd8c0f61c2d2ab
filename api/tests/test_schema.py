"""The OpenAPI schema tells the truth, its pages need no tenant, and tiny odd requests are 400s, not 500s."""

import json
import re

import pytest
import sentry_sdk
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from knox.models import AuthToken

from api.parsers import MAX_DEPTH
from api.tests.conftest import TenantClient
from core.tests.test_sentry_scrubbing import sent_events, sentry  # noqa: F401 (a fixture)
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("wechat")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code, response.content
    assert response.json()["error"]["message"]
    return response.json()["error"]


def openapi():
    response = Client().get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return json.loads(response.content)


def component(schema, reference):
    return schema["components"]["schemas"][reference.rpartition("/")[2]]


def body_properties(schema, operation, status=None):
    if status is None:
        content = operation["requestBody"]["content"]
    else:
        content = operation["responses"][status]["content"]
    # JSON everywhere, but for the avatar's upload (multipart, as wx.uploadFile sends it).
    [media_type] = content
    upload = status is None and operation["operationId"] == "api_v1_me_avatar_create"
    assert media_type == ("multipart/form-data" if upload else "application/json")
    target = content[media_type]["schema"]
    if target.get("type") == "array":
        target = target["items"]
    return set(component(schema, target["$ref"])["properties"])


# --- A. No auth check on the no-tenant pages; parse errors of any depth are 400 --------------------------


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
@pytest.mark.parametrize("authorization", ["Bearer some-token", "Bearer", "Token abc", "Basic eDp5"])
def test_the_schema_and_docs_pages_ignore_any_authorization_header(path, authorization):
    response = Client().get(path, headers={"Authorization": authorization})
    assert response.status_code == 200, response.content


def test_a_thousand_nested_brackets_are_a_400_parse_error_not_a_500():
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", "[" * 1000, content_type="application/json")
    assert_error(response, 400, "parse_error")
    closed = "[" * 1000 + "]" * 1000
    assert_error(
        TenantClient(TENANT_A).post("/api/v1/auth/login", closed, content_type="application/json"), 400, "parse_error"
    )


def test_the_nested_brackets_send_no_sentry_event(sentry, monkeypatch):  # noqa: F811 (the fixture)
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", "[" * 1000, content_type="application/json")
    assert_error(response, 400, "parse_error")
    sentry_sdk.get_client().flush(timeout=5)
    assert [event for event in sentry.snapshot() if "exception" in event] == []
    # The stand-in does receive a real failure's event (so the empty list above means something).
    monkeypatch.setattr("api.auth.user_login", lambda **kwargs: 1 / 0)
    client = TenantClient(TENANT_A)
    client.client = Client(raise_request_exception=False)
    assert client.login("code-x").status_code == 500
    assert len(sent_events(sentry)) == 1


def test_json_deeper_than_the_limit_is_refused_and_the_limit_itself_passes_the_parser():
    too_deep = {"code": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}  # MAX_DEPTH + 1 levels with the object
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", json.dumps(too_deep), content_type="application/json")
    assert_error(response, 400, "parse_error")
    deep_enough = {"code": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}
    response = TenantClient(TENANT_A).post(
        "/api/v1/auth/login", json.dumps(deep_enough), content_type="application/json"
    )
    assert_error(response, 400, "invalid")  # parsed, then refused by the serializer: a list is not a code


def test_form_bodies_are_415_the_api_speaks_json_only():
    response = TenantClient(TENANT_A).post(
        "/api/v1/auth/login", "code=code-x", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_the_api_answers_json_even_to_a_browser():
    response = TenantClient(TENANT_A).get("/api/v1/ping", Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


# --- B. Unique components, each operation's own request and response, its errors ------------------------


def test_every_serializer_has_a_component_of_its_own():
    schema = openapi()
    names = set(schema["components"]["schemas"])
    assert {"LoginInput", "LoginOutput", "MePhoneInput", "SubscribeMessageInput", "JobOutput"} <= names
    assert not {"Input", "Output"} & names


# method path -> (request properties or None, success status, response properties or None)
OPERATIONS = {
    ("post", "/api/v1/auth/login"): ({"code"}, "200", {"token", "user"}),
    ("post", "/api/v1/auth/logout"): (None, "204", None),
    ("get", "/api/v1/me"): (None, "200", {"id", "openid", "nickname", "avatar_url", "phone"}),
    ("patch", "/api/v1/me"): ({"nickname", "avatar_url"}, "200", {"id", "openid", "nickname", "avatar_url"}),
    ("post", "/api/v1/me/phone"): ({"code"}, "200", {"id", "openid", "phone"}),
    ("post", "/api/v1/me/avatar"): ({"file"}, "202", {"id", "state"}),
    ("post", "/api/v1/messages/subscribe"): (
        {"template_id", "data", "page", "miniprogram_state", "lang"},
        "202",
        {"job_id", "status_url"},
    ),
    ("get", "/api/v1/jobs/{job_id}"): (None, "200", {"id", "status", "result", "error", "enqueued_at"}),
    ("get", "/api/v1/me/subscriptions"): (None, "200", {"template_id", "status", "remaining", "sent"}),
    ("get", "/api/v1/ping"): (None, "200", {"app_id"}),
    ("get", "/platform/v1/tenants"): (None, "200", {"app_id", "name", "status", "has_secret"}),
    ("post", "/platform/v1/tenants"): (
        {"app_id", "name", "db_server", "app_secret"},
        "202",
        {"tenant", "job_id", "job_url"},
    ),
    ("get", "/platform/v1/tenants/{app_id}"): (None, "200", {"app_id", "status", "facts"}),
    ("post", "/platform/v1/tenants/{app_id}/suspend"): (None, "200", {"app_id", "status"}),
    ("post", "/platform/v1/tenants/{app_id}/resume"): (None, "200", {"app_id", "status"}),
    ("post", "/platform/v1/tenants/{app_id}/secret"): ({"app_secret"}, "200", {"app_id", "has_secret"}),
    ("post", "/platform/v1/tenants/{app_id}/retire"): ({"confirm_app_id"}, "204", None),
    ("get", "/platform/v1/jobs/{job_id}"): (None, "200", {"id", "status", "result", "error"}),
    ("get", "/platform/v1/tenants/{app_id}/push"): (
        None,
        "200",
        {"app_id", "mode", "format", "has_token", "has_aes_key"},
    ),
    ("put", "/platform/v1/tenants/{app_id}/push"): (
        {"token", "aes_key", "mode", "format", "transfer_customer_service"},
        "200",
        {"app_id", "push_path", "mode", "format", "transfer_customer_service", "has_token", "has_aes_key"},
    ),
    ("get", "/platform/v1/tenants/{app_id}/messages"): (None, "200", {"id", "openid", "kind", "content", "fields"}),
    ("get", "/platform/v1/tenants/{app_id}/payment"): (None, "200", {"app_id", "mchid", "mode", "has_apiv3_key"}),
    ("put", "/platform/v1/tenants/{app_id}/payment"): (
        {"mchid", "serial", "private_key", "apiv3_key", "public_key", "public_key_id", "certificate"},
        "200",
        {"app_id", "mchid", "serial", "mode", "public_key_id", "has_private_key", "has_apiv3_key"},
    ),
    # open-platform mode (docs/open-platform.md)
    ("post", "/platform/v1/component/authorizations"): ({"tenant_name"}, "201", {"url", "mobile_url", "expires_at"}),
    ("get", "/platform/v1/component/authorizers/{app_id}"): (None, "200", {"app_id", "status", "func_info", "missing"}),
    # payments' orders (docs/payments.md)
    ("post", "/api/v1/pay/orders"): ({"item"}, "201", {"id", "out_trade_no", "amount", "status"}),
    ("get", "/api/v1/pay/orders/{order_id}"): (None, "200", {"id", "out_trade_no", "amount", "status", "paid_at"}),
    ("post", "/api/v1/pay/orders/{order_id}/prepay"): (
        None,
        "200",
        {"timeStamp", "nonceStr", "package", "signType", "paySign"},
    ),
    ("get", "/platform/v1/tenants/{app_id}/orders/{order_id}"): (None, "200", {"id", "status", "refunds"}),
    ("post", "/platform/v1/tenants/{app_id}/orders/{order_id}/refund"): (
        {"amount", "reason"},
        "201",
        {"id", "out_refund_no", "amount", "status", "order_status"},
    ),
}


def test_each_operation_documents_its_own_request_and_response():
    schema = openapi()
    # A team's own tenant apps (LOCAL_TENANT_APPS, /api/v1/<app>/...) test their operations in their own tests.
    local = tuple(f"/api/v1/{app}/" for app in settings.LOCAL_TENANT_APPS)
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert {(method, path) for method, path in documented if not path.startswith(local)} == set(OPERATIONS)
    for (method, path), (request, success, response) in OPERATIONS.items():
        operation = schema["paths"][path][method]
        where = f"{method.upper()} {path}"
        if request is None:
            assert "requestBody" not in operation, where
        else:
            assert body_properties(schema, operation) == request, where
        successes = [status for status in operation["responses"] if status.startswith("2")]
        assert successes == [success], where
        if response is None:
            assert "content" not in operation["responses"][success], where
        else:
            assert response <= body_properties(schema, operation, success), where


# method path -> the error statuses it can answer
ERRORS = {
    ("post", "/api/v1/auth/login"): {"400", "403", "404", "413", "415", "429", "502", "503"},
    ("post", "/api/v1/auth/logout"): {"400", "401", "403", "404", "413", "429", "503"},
    ("get", "/api/v1/me"): {"400", "401", "403", "404", "429", "503"},
    ("patch", "/api/v1/me"): {"400", "401", "403", "404", "413", "415", "429", "503"},
    ("post", "/api/v1/me/phone"): {"400", "401", "403", "404", "413", "415", "429", "502", "503"},
    ("post", "/api/v1/me/avatar"): {"400", "401", "403", "404", "413", "415", "429", "503"},
    ("post", "/api/v1/messages/subscribe"): {"400", "401", "403", "404", "409", "413", "415", "429", "503"},
    ("get", "/api/v1/me/subscriptions"): {"400", "401", "403", "404", "429", "503"},
    ("get", "/api/v1/jobs/{job_id}"): {"400", "401", "403", "404", "429", "503"},
    ("get", "/api/v1/ping"): {"400", "403", "404", "429", "503"},  # 429: tenant_busy (tenants.fair_requests)
    ("post", "/platform/v1/tenants"): {"400", "401", "403", "409", "413", "415", "429", "503"},
    ("get", "/platform/v1/tenants/{app_id}"): {"400", "401", "403", "404", "429", "503"},
    ("post", "/platform/v1/tenants/{app_id}/suspend"): {"400", "401", "403", "404", "413", "429", "503"},
    ("post", "/platform/v1/tenants/{app_id}/resume"): {"400", "401", "403", "404", "409", "413", "429", "503"},
    ("post", "/platform/v1/tenants/{app_id}/retire"): {"400", "401", "403", "404", "413", "415", "429", "503"},
    ("get", "/platform/v1/jobs/{job_id}"): {"401", "403", "404", "429", "503"},
    ("get", "/platform/v1/tenants/{app_id}/push"): {"400", "401", "403", "404", "429", "503"},
    ("put", "/platform/v1/tenants/{app_id}/push"): {"400", "401", "403", "404", "413", "415", "429", "503"},
    ("get", "/platform/v1/tenants/{app_id}/messages"): {"400", "401", "403", "404", "429", "503"},
    ("get", "/platform/v1/tenants/{app_id}/payment"): {"400", "401", "403", "404", "409", "429", "503"},
    ("put", "/platform/v1/tenants/{app_id}/payment"): {"400", "401", "403", "404", "413", "415", "429", "503"},
    ("post", "/platform/v1/component/authorizations"): {"400", "401", "403", "409", "413", "415", "429", "502", "503"},
    ("get", "/platform/v1/component/authorizers/{app_id}"): {"400", "401", "403", "404", "429", "503"},
    ("post", "/api/v1/pay/orders/{order_id}/prepay"): {"400", "401", "403", "404", "409", "413", "429", "502", "503"},
    ("post", "/platform/v1/tenants/{app_id}/orders/{order_id}/refund"): {"400", "401", "403", "404", "409", "413"}
    | {"415", "429", "502", "503"},
}


def test_each_operation_documents_the_errors_it_can_answer_in_the_one_error_shape():
    schema = openapi()
    error = schema["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    detail = component(schema, error["properties"]["error"]["$ref"])
    assert set(detail["required"]) == {"code", "message"}
    for (method, path), statuses in ERRORS.items():
        responses = schema["paths"][path][method]["responses"]
        assert {status for status in responses if status >= "400"} == statuses, f"{method.upper()} {path}"
        for status in statuses:
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorResponse"}
        assert "Retry-After" in responses["503"]["headers"]
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    for code in ("app_id_missing", "app_id_invalid", "parse_error", "invalid", "wechat_code_invalid"):
        assert f"`{code}`" in login["400"]["description"]
    assert "`wechat_rate_limited`" in login["429"]["description"]
    assert "`job_not_found`" in schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]["404"]["description"]


def test_the_x_appid_header_stays_on_tenant_operations_only():
    schema = openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
            assert ("X-AppID" in headers) == path.startswith("/api/v1/"), f"{method.upper()} {path}"
            if "X-AppID" in headers:
                assert headers["X-AppID"]["required"] is True
                assert headers["X-AppID"]["schema"]["pattern"] == "^wx[0-9a-f]{16}$"  # others are app_id_invalid
            path_app_id = [p for p in operation.get("parameters", []) if p["in"] == "path" and p["name"] == "app_id"]
            assert [p["schema"]["pattern"] for p in path_app_id] == (["^wx[0-9a-f]{16}$"] if "{app_id}" in path else [])


# --- C. Smaller points: avatar_url as the schema allows it, nickname a string, the URL's AppID --------------


@pytest.fixture
def alice():
    client = TenantClient(TENANT_A)
    assert client.login("code-alice").status_code == 200
    return client


def test_the_schema_says_avatar_url_only_takes_an_empty_string_and_the_api_agrees(alice):
    # An avatar is set by POST /api/v1/me/avatar once WeChat's check passed it, never by a URL the client names.
    field = openapi()["components"]["schemas"]["PatchedMeInput"]["properties"]["avatar_url"]
    assert {"type": "string", "maxLength": 0} in field.get("oneOf", [field])
    assert_error(alice.patch("/api/v1/me", {"avatar_url": "https://a.com/a.png"}), 400, "invalid")
    assert alice.patch("/api/v1/me", {"avatar_url": ""}).status_code == 200


@pytest.mark.parametrize("value", [0, 12.5, True, ["小明"], {"a": "b"}])
def test_a_nickname_that_is_not_a_string_is_400_and_nothing_is_stored(alice, value):
    alice.patch("/api/v1/me", {"nickname": "before"})
    error = assert_error(alice.patch("/api/v1/me", {"nickname": value}), 400, "invalid")
    assert error["fields"]["nickname"] == ["Must be a string."]
    assert alice.get("/api/v1/me").json()["nickname"] == "before"


def test_what_the_schema_says_of_strings_is_what_the_api_refuses(alice):
    code = openapi()["components"]["schemas"]["LoginInput"]["properties"]["code"]
    pattern = code["pattern"].replace(r"\u0000", r"\x00")
    assert re.search(pattern, "code-x")
    for blank_or_nul in ("", "a\x00b"):
        assert not re.search(pattern, blank_or_nul)
        error = assert_error(alice.post("/api/v1/auth/login", {"code": blank_or_nul}), 400, "invalid")
        assert "code" in error["fields"]
    assert "nickname" in assert_error(alice.patch("/api/v1/me", {"nickname": "a\x00"}), 400, "invalid")["fields"]
    assert alice.patch("/api/v1/me", {"nickname": ""}).status_code == 200


def test_a_login_code_that_is_not_a_string_is_400_invalid():
    error = assert_error(TenantClient(TENANT_A).post("/api/v1/auth/login", {"code": 12345}), 400, "invalid")
    assert "code" in error["fields"]


@pytest.fixture
def staff_token():
    user = User.objects.create_superuser("schema-staff", "s@example.com", "pw-for-tests")
    yield AuthToken.objects.create(user=user)[1]
    user.delete()


@pytest.mark.parametrize("suffix", ["", "/suspend"])
def test_a_bad_app_id_in_a_platform_url_is_named_as_the_urls(staff_token, suffix):
    client = Client(headers={"Authorization": f"Token {staff_token}"})
    response = (
        client.get(f"/platform/v1/tenants/not-an-appid{suffix}")
        if not suffix
        else client.post(f"/platform/v1/tenants/not-an-appid{suffix}")
    )
    error = assert_error(response, 400, "app_id_invalid")
    assert error["message"] == "The AppID in the URL is not a valid AppID."


def test_a_bad_app_id_in_the_onboarding_body_is_named_as_the_bodys(staff_token):
    client = Client(headers={"Authorization": f"Token {staff_token}"})
    response = client.post("/platform/v1/tenants", {"app_id": "../x", "name": "x"}, content_type="application/json")
    error = assert_error(response, 400, "app_id_invalid")
    assert "X-AppID" not in error["message"] and "app_id of the body" in error["message"]
