import pytest
from django.db import OperationalError
from django.test import Client

from core.tenant_context import get_current_tenant
from tenants import cache, selectors
from tenants.services import tenant_provision, tenant_suspend
from tests.helpers import TENANT_A, TENANT_B, log_queries

pytestmark = pytest.mark.usefixtures("tenant_db")
TENANT_ALIASES = ["tenant_main", "tenant_main_ddl"]


def get(path, app_id=None, **headers):
    if app_id is not None:
        headers["X-AppID"] = app_id
    return Client().get(path, headers=headers)


def assert_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_ping_answers_the_resolved_app_id_without_touching_any_database_once_cached():
    assert get("/api/v1/ping", TENANT_A).json() == {"app_id": TENANT_A}
    with log_queries() as log:
        response = get("/api/v1/ping", TENANT_A)
    assert response.json() == {"app_id": TENANT_A}
    assert log.queries == [] and log.connections == []


@pytest.mark.parametrize(
    ("app_id", "status", "code"),
    [
        (None, 400, "app_id_missing"),
        ("", 400, "app_id_missing"),
        ("wx0123", 400, "app_id_invalid"),
        ("wx0000000000000000", 404, "tenant_not_found"),
    ],
)
def test_each_bad_app_id_gets_its_json_error_and_no_tenant_database_is_touched(app_id, status, code):
    with log_queries(TENANT_ALIASES) as log:
        response = get("/api/v1/ping", app_id)
    assert_error(response, status, code)
    assert log.queries == [] and log.connections == []


def test_a_suspended_tenant_gets_403_and_no_tenant_database_is_touched():
    tenant_suspend(app_id=TENANT_B)
    with log_queries(TENANT_ALIASES) as log:
        response = get("/api/v1/ping", TENANT_B)
    assert_error(response, 403, "tenant_suspended")
    assert log.queries == [] and log.connections == []
    assert get("/api/v1/ping", TENANT_A).status_code == 200


HOSTILE_APP_IDS = [
    "a`;DROP DATABASE x;--",
    "../x",
    "wx" + "0" * 63,
    "wx00000000000000a1 ",
    " wx00000000000000a1",
    "wx00000000000000а1",  # Cyrillic а
    "ｗｘ00000000000000a1",  # full-width letters
    "wx00000000000000a１",  # full-width digit
    "wx00000000000000A1",
    "wx00000000000000a1\n",
    "wx%",
    "wx_000000000000000",
]


@pytest.mark.parametrize("app_id", HOSTILE_APP_IDS)
def test_hostile_app_ids_are_refused_before_any_sql_runs(app_id):
    with log_queries() as log:
        # The test client carries headers as str; the non-latin-1 ones go in through META like WSGI would.
        response = Client().get("/api/v1/ping", HTTP_X_APPID=app_id)
    assert_error(response, 400, "app_id_invalid")
    assert log.queries == [] and log.connections == []


def test_paths_that_need_no_tenant_pass_without_one():
    assert get("/healthz").json() == {"status": "ok"}
    assert get("/readyz").json() == {"status": "ok"}
    assert get("/api/schema/").status_code == 200


def test_the_tenant_is_reset_after_the_request_even_when_the_view_raises(settings):
    settings.ROOT_URLCONF = "tests.urls"
    client = Client(raise_request_exception=True)
    with pytest.raises(KeyError):
        client.get("/test/users", headers={"X-AppID": TENANT_A})  # no ?n= -> KeyError in the view
    assert get_current_tenant() is None


def test_an_unreachable_registry_is_503_with_retry_after(monkeypatch):
    def unreachable(app_id):
        raise OperationalError(2003, "Can't connect to MySQL server")

    monkeypatch.setattr(selectors, "_entry_from_database", unreachable)
    response = get("/api/v1/ping", "wx00000000000000d4")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"


# --- Unknown AppIDs (issue 12.11): a negative cache, and the anonymous rate per client address ---------------

UNKNOWN = [f"wx00000000000e{index:04x}" for index in range(12)]


def ping_from(address, app_id):
    return Client(REMOTE_ADDR=address).get("/api/v1/ping", headers={"X-AppID": app_id})


@pytest.fixture
def anon_rate(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "5/min"}
    cache.clear_local()


def test_made_up_app_ids_cost_a_query_each_only_up_to_the_anonymous_rate_per_address(anon_rate):
    with log_queries(["default"]) as log:
        statuses = [ping_from("198.51.100.7", app_id).status_code for app_id in UNKNOWN]
    assert statuses == [404] * 5 + [429] * 7
    assert len(log.for_alias("default")) == 5  # a refused one is refused before the control database
    refused = ping_from("198.51.100.7", "wx00000000000effff")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1

    # Another address has its own budget; a tenant that a cache knows is still served to the first one (one
    # that no cache knows would need the query the budget withholds: 429 until its entry is read for another).
    assert ping_from("203.0.113.9", "wx00000000000effff").status_code == 404
    assert ping_from("198.51.100.7", TENANT_A).status_code == 429
    assert ping_from("203.0.113.9", TENANT_A).status_code == 200
    cache.clear_local()  # another process, which finds the entry in Redis
    assert ping_from("198.51.100.7", TENANT_A).status_code == 200


def test_a_known_tenant_read_from_the_database_gives_its_count_back(anon_rate):
    for _ in range(8):
        cache.clear_local()
        registry_key = cache.entry_key(TENANT_B)
        redis = cache._redis()
        assert redis is not None
        redis.delete(registry_key)  # each lookup now reaches the control database
        assert ping_from("198.51.100.8", TENANT_B).status_code == 200
    assert [ping_from("198.51.100.8", app_id).status_code for app_id in UNKNOWN[:6]] == [404] * 5 + [429]


def test_an_unknown_app_id_asked_again_costs_no_query_and_no_budget(anon_rate):
    assert ping_from("198.51.100.9", UNKNOWN[0]).status_code == 404
    with log_queries(["default"]) as log:
        statuses = [ping_from("198.51.100.9", UNKNOWN[0]).status_code for _ in range(10)]
    assert statuses == [404] * 10 and log.for_alias("default") == []


def test_an_app_id_onboarded_after_its_404_is_served_at_once():
    app_id = "wx00000000000000e7"
    assert get("/api/v1/ping", app_id).status_code == 404  # now a negative entry, here and in Redis
    tenant_provision(app_id=app_id, name="Onboarded")
    assert get("/api/v1/ping", app_id).json() == {"app_id": app_id}
    cache.clear_local()  # another process: Redis' negative entry was replaced as well
    assert get("/api/v1/ping", app_id).json() == {"app_id": app_id}
