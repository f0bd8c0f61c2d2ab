"""Answers of one tenant and one caller carry Vary and Cache-Control, so no shared cache serves them to another."""

import pytest

from api.tests.conftest import TenantClient
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("wechat")


@pytest.mark.parametrize("path", ["/api/v1/ping", "/api/v1/me"])
def test_tenant_answers_vary_by_app_id_and_token_and_stay_private(path):
    client = TenantClient(TENANT_A)
    client.login("code-private")
    response = client.get(path)
    assert response.status_code == 200
    vary = {name.strip().lower() for name in response["Vary"].split(",")}
    assert {"x-appid", "authorization"} <= vary
    assert response["Cache-Control"] == "private, no-store"


def test_refusals_and_platform_answers_are_private_too(client):
    assert client.get("/api/v1/ping", headers={"X-AppID": "wx0000000000000999"})["Cache-Control"] == "private, no-store"
    assert client.get("/platform/v1/tenants")["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_own_caching(client):
    response = client.get("/favicon.ico")
    assert response["Cache-Control"] != "private, no-store"
