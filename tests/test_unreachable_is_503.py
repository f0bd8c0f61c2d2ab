"""A Redis or database that does not answer is 503 service_unavailable with Retry-After, on every path: the API's
views, plain Django views and the admin (handler500), never a 500 that tells the client of a bug."""

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from api.tests.conftest import TenantClient
from core.responses import server_error_view
from tests.helpers import TENANT_A, free_port

pytestmark = pytest.mark.usefixtures("wechat")


def assert_503(response) -> None:  # noqa: ANN001
    assert response.status_code == 503, response.content
    assert json.loads(response.content)["error"]["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


def test_a_phone_binding_while_the_token_holders_redis_is_down_is_503(settings):
    from accounts.wechat_access import access_token_holder

    client = TenantClient(TENANT_A)
    client.login("code-unreachable")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # the access_token holder's Redis: nothing there
    access_token_holder.cache_clear()
    try:
        assert_503(client.post("/api/v1/me/phone", {"code": "phone-13800138000"}))
    finally:
        access_token_holder.cache_clear()


@pytest.mark.parametrize("error", [OperationalError(2003, "Can't connect"), RedisConnectionError("refused")])
def test_django_s_500_handler_answers_an_unreachable_service_with_503(error):
    request = RequestFactory().get("/admin/")
    try:
        raise error
    except type(error):
        response = server_error_view(request)
    assert_503(response)


def test_django_s_500_handler_still_answers_a_bug_with_500():
    try:
        raise KeyError("bug")
    except KeyError:
        response = server_error_view(RequestFactory().get("/admin/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
