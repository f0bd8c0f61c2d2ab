"""The sliding-window throttle on the real Redis: one round trip per request, the previous window weighed in,
rejections not counted, Retry-After from the counts, keys scoped to the tenant."""

import logging
from unittest import mock

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection

from api.tests.conftest import TenantClient
from api.throttling import TenantRateThrottle
from core.logging import TenantContextFilter
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat")

WINDOW_START = 1_800_000_000.0  # a multiple of 60: the start of a one-minute window


def at(seconds: float):  # noqa: ANN201
    """Every throttle's clock, `seconds` after WINDOW_START."""
    return mock.patch.object(TenantRateThrottle, "timer", staticmethod(lambda: WINDOW_START + seconds))


def me_statuses(client: TenantClient, count: int) -> list[int]:
    return [client.get("/api/v1/me").status_code for _ in range(count)]


@pytest.fixture
def alice(settings) -> TenantClient:
    settings.API_THROTTLE_RATES = {"user": "4/min", "anon": "100/min"}
    client = TenantClient(TENANT_A)
    assert client.login().status_code == 200
    return client


def test_a_full_window_then_a_new_one_that_still_counts_the_last(alice):
    with at(10):
        assert me_statuses(alice, 5) == [200, 200, 200, 200, 429]
    # 45 s into the next window a quarter of the last one still weighs: 4 x 0.25 = 1, so 3 more fit.
    with at(60 + 45):
        assert me_statuses(alice, 4) == [200, 200, 200, 429]
    # A window later the old one has gone entirely.
    with at(180):
        assert me_statuses(alice, 5) == [200, 200, 200, 200, 429]


def test_rejected_requests_are_not_counted_and_retry_after_says_when_one_fits(alice):
    with at(0):
        assert me_statuses(alice, 4) == [200] * 4
        for _ in range(20):  # knocking while throttled
            response = alice.get("/api/v1/me")
            assert response.status_code == 429
    # This window is full, and in the next one its 4 weigh until 4 x (1 - t/60) + 1 <= 4: t = 15 s, so
    # 60 + 15 s (the header adds a second).
    assert int(response["Retry-After"]) == 76
    with at(60 + 15):
        # Weighted 4 x 0.75 = 3: one request fits, the knocking did not push it back.
        assert me_statuses(alice, 2) == [200, 429]
        retry_after = int(alice.get("/api/v1/me")["Retry-After"])
    # 4 x (1 - t/60) + 1 + 1 <= 4 holds from t = 30 s, 15 s after this request (+1 s in the header).
    assert retry_after == 16


def test_one_redis_round_trip_per_request(alice):
    redis = get_redis_connection("default")
    with mock.patch.object(type(redis), "pipeline", wraps=redis.pipeline) as pipeline:
        assert alice.get("/api/v1/me").status_code == 200
    assert pipeline.call_count == 1


def test_the_counts_are_the_tenants_own(settings, alice):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "2/min"}
    with at(0):
        assert [TenantClient(TENANT_A).post("/api/v1/auth/login", {"code": ""}).status_code for _ in range(3)] == [
            400,
            400,
            429,
        ]
        assert TenantClient(TENANT_B).post("/api/v1/auth/login", {"code": ""}).status_code == 400
    keys = [key.decode() for key in get_redis_connection("default").keys(f"*throttle_anon_*:{int(WINDOW_START) // 60}")]
    assert keys and all((TENANT_A in key) != (TENANT_B in key) for key in keys)
    assert cache.get("throttle_anon_127.0.0.1") is None  # nothing outside a tenant's scope


def test_djangos_line_for_a_throttled_request_names_its_tenant_and_request(alice):
    """django.request logs a 4xx after the middleware has left the tenant's context: the line still names it."""
    lines: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    handler = Collect()
    handler.addFilter(TenantContextFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        with at(0):
            me_statuses(alice, 4)
            response = alice.get("/api/v1/me", X_Request_ID="req-throttled")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 429
    # status_code, app_id and request_id are set at run time (by django.request and the filter): not LogRecord's.
    throttled = [vars(record) for record in lines if vars(record).get("status_code") == 429]
    assert [(fields["app_id"], fields["request_id"]) for fields in throttled] == [(TENANT_A, "req-throttled")]


# 61 requests a case, four cases: over a second each.
@pytest.mark.slow
@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer", "Token abc", None],
    ids=["unknown-token", "malformed", "other-scheme", "no-header"],
)
def test_failed_authentication_is_throttled_per_tenant_and_client_address(settings, authorization):
    """Guessing tokens costs the anonymous rate: 60 requests at 5/min get 5 answers of 401, then 429."""
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "5/min"}
    headers = {"Authorization": authorization} if authorization else {}
    with at(0):
        statuses = [TenantClient(TENANT_A).get("/api/v1/me", **headers).status_code for _ in range(60)]
        throttled = TenantClient(TENANT_A).get("/api/v1/me", **headers)
        # Another tenant's counts are its own; another client address is another count.
        other_tenant = TenantClient(TENANT_B).get("/api/v1/me", **headers).status_code
        client = TenantClient(TENANT_A)
        other_address = client.client.get("/api/v1/me", headers=client.headers(headers), REMOTE_ADDR="10.0.0.7")
    assert statuses == [401] * 5 + [429] * 55
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert other_tenant == 401
    assert other_address.status_code == 401


def test_a_valid_token_is_not_held_back_by_the_failed_attempts_from_its_address(settings, alice):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "3/min"}
    with at(0):
        bad = [TenantClient(TENANT_A, "not-a-token").get("/api/v1/me").status_code for _ in range(5)]
        assert bad == [401] * 3 + [429] * 2
        assert me_statuses(alice, 3) == [200, 200, 200]


def test_an_anonymous_request_is_counted_once(settings):
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "4/min"}
    with at(0):
        statuses = [TenantClient(TENANT_A).post("/api/v1/auth/logout").status_code for _ in range(5)]
    assert statuses == [401] * 4 + [429]


def test_an_anonymous_request_a_view_lets_through_is_counted_once(settings):
    """Counted by the authentication, not again by the view's throttles: 4/min lets exactly 4 through."""
    settings.ROOT_URLCONF = "tests.urls"
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "4/min"}
    with at(0):
        statuses = [TenantClient(TENANT_A).get("/test/users/count-api").status_code for _ in range(6)]
    assert statuses == [200] * 4 + [429] * 2
