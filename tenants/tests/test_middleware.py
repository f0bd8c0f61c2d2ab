import pytest
from django.db import OperationalError
from django.test import Client

from core.tenant_context import get_current_tenant
from tenants import selectors
from tenants.services import tenant_suspend
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
