"""Every error of the API in the JSON shape; throttles per tenant; body limit; the OpenAPI schema."""

import json

import pytest
from django.test import Client

from api.tests.conftest import TenantClient
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_unknown_paths_are_404_json():
    assert_error(TenantClient(TENANT_A).get("/api/v1/nope"), 404, "not_found")


def test_a_wrong_method_is_405_json():
    assert_error(TenantClient(TENANT_A).get("/api/v1/auth/login"), 405, "method_not_allowed")


def test_malformed_json_is_400_parse_error():
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_an_unsupported_media_type_is_415_json():
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", "code=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_a_body_over_the_limit_is_413_json_and_changes_nothing(settings):
    settings.API_MAX_BODY_BYTES = 1024
    body = json.dumps({"code": "code-x", "padding": "x" * 2000})
    response = TenantClient(TENANT_A).post("/api/v1/auth/login", body, content_type="application/json")
    assert_error(response, 413, "request_too_large")
    assert response.json()["error"]["limit"] == 1024


def test_a_flood_under_one_app_id_never_throttles_another(settings):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "3/min"}
    flooded = TenantClient(TENANT_A)
    for _ in range(3):
        assert flooded.post("/api/v1/auth/login", {"code": ""}).status_code == 400
    response = flooded.post("/api/v1/auth/login", {"code": ""})
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert TenantClient(TENANT_B).post("/api/v1/auth/login", {"code": ""}).status_code == 400


def test_a_forged_x_forwarded_for_does_not_pick_the_throttle_key(settings):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "2/min"}
    client = TenantClient(TENANT_A)
    for forged in ("1.1.1.1", "2.2.2.2"):
        assert client.post("/api/v1/auth/login", {"code": ""}, X_Forwarded_For=forged).status_code == 400
    assert_error(client.post("/api/v1/auth/login", {"code": ""}, X_Forwarded_For="3.3.3.3"), 429, "throttled")


def test_behind_one_proxy_the_address_it_appended_is_the_key(settings):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "1/min"}
    settings.TRUSTED_PROXY_COUNT = 1
    client = TenantClient(TENANT_A)
    # The client forges the first hop; nginx appends the real address last.
    assert client.post("/api/v1/auth/login", {"code": ""}, X_Forwarded_For="9.9.9.9, 10.0.0.1").status_code == 400
    assert_error(client.post("/api/v1/auth/login", {"code": ""}, X_Forwarded_For="8.8.8.8, 10.0.0.1"), 429, "throttled")
    assert client.post("/api/v1/auth/login", {"code": ""}, X_Forwarded_For="9.9.9.9, 10.0.0.2").status_code == 400


def test_a_user_is_throttled_by_user_not_by_address(settings):
    settings.API_THROTTLE_RATES = {"user": "2/min", "anon": "100/min"}
    alice, bob = TenantClient(TENANT_A), TenantClient(TENANT_A)
    alice.login()
    bob.login()
    assert [alice.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    assert_error(alice.get("/api/v1/me"), 429, "throttled")
    assert bob.get("/api/v1/me").status_code == 200


def test_the_openapi_schema_puts_x_appid_on_every_tenant_endpoint():
    response = Client().get("/api/schema/", headers={"Accept": "application/json"})
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    tenant_paths = {path: item for path, item in schema["paths"].items() if path.startswith("/api/v1/")}
    assert {"/api/v1/ping", "/api/v1/auth/login", "/api/v1/me", "/api/v1/me/phone"} <= set(tenant_paths)
    for path, item in tenant_paths.items():
        for method, operation in item.items():
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "X-AppID" in headers, f"{method.upper()} {path}"
    assert schema["components"]["securitySchemes"]["tenantToken"]["scheme"] == "bearer"


def test_the_docs_page_is_served_with_local_assets():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert "cdn.jsdelivr.net" not in html
