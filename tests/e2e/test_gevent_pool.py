"""gunicorn with the shipped config (gevent, PyMySQL, the connection pool) on the private MariaDB.

- two `SELECT SLEEP(1)` requests on one worker run side by side (the driver is cooperative);
- 1,000 concurrent clients are served within the connection budget: the excess waits, none fails;
- in steady state requests open no new MySQL connection.
"""

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import get, run_load, running_gunicorn, watching_peak

POOL_SIZE = 4


@pytest.fixture
def one_worker(services: Services) -> Iterator[int]:
    env = services.env(DB_POOL_SIZE=str(POOL_SIZE))
    with running_gunicorn(env, services.workdir / "gunicorn-one.log", workers=1) as port:
        yield port


@pytest.fixture
def two_workers(services: Services) -> Iterator[int]:
    env = services.env(DB_POOL_SIZE=str(POOL_SIZE))
    with running_gunicorn(env, services.workdir / "gunicorn-two.log", workers=2) as port:
        yield port


def test_two_sleep_requests_on_one_worker_run_side_by_side(one_worker):
    app_id = E2E_TENANTS[0]
    assert get(one_worker, "/test/sleep?seconds=0.01", app_id).status_code == 200  # warm: tenant cached

    def timed_sleep(_n: int) -> tuple[int, float]:
        started = time.monotonic()
        response = get(one_worker, "/test/sleep?seconds=1", app_id)
        return response.status_code, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(2) as executor:
        results = list(executor.map(timed_sleep, range(2)))
    elapsed = time.monotonic() - started
    print(f"two concurrent SELECT SLEEP(1) on one worker: {elapsed:.2f} s ({results})")
    assert [status for status, _ in results] == [200, 200]
    # Blocking on MySQL would serialise them: 2 s or more. Side by side they take about 1 s.
    assert elapsed < 1.8


def test_a_thousand_concurrent_clients_stay_within_the_connection_budget(services, two_workers):
    workers, aliases = 2, 2  # the control database and the tenant server, each with its own pool
    budget = workers * aliases * POOL_SIZE
    for app_id in E2E_TENANTS:
        assert get(two_workers, "/test/users/count", app_id).status_code == 200
    with watching_peak(lambda: services.mariadb.status("Threads_connected") - 1) as peak:  # minus its own
        summary = run_load(
            {
                "port": two_workers,
                "paths": ["/test/sleep?seconds=0.02", "/test/users/count"],
                "app_ids": list(E2E_TENANTS),
                "clients": 1000,
                "requests": 2000,
                "timeout": 120,
                "limit": 240,
            }
        )
    print(f"1000 clients, 2000 requests: {summary['seconds']} s, peak MySQL connections {peak[0]} (budget {budget})")
    assert summary["error_count"] == 0, summary["errors"]
    assert summary["statuses"] == {"200": 2000}
    assert summary["wrong_tenant"] == 0
    assert 0 < peak[0] <= budget


def test_steady_state_requests_open_no_new_mysql_connection(services, two_workers):
    warm_up = {"port": two_workers, "paths": ["/test/users/count"], "app_ids": list(E2E_TENANTS), "clients": 20}
    run_load({**warm_up, "requests": 400})  # fills both workers' pools
    before = services.mariadb.status("Connections")
    summary = run_load({**warm_up, "requests": 1000})
    after = services.mariadb.status("Connections")
    new_connections = after - before - 1  # the second status query's own connection
    print(f"1000 requests in steady state opened {new_connections} MySQL connection(s)")
    assert summary["statuses"] == {"200": 1000}
    assert new_connections == 0


def test_json_log_lines_of_gunicorn_and_the_app_carry_app_id_and_request_id(services):
    env = services.env(LOG_FORMAT="json")
    log_path = services.workdir / "gunicorn-json.log"
    with running_gunicorn(env, log_path, workers=1) as port:
        get(port, "/test/whoami?mark=json-mark", E2E_TENANTS[2], **{"X-Request-ID": "json-req-1"})
        time.sleep(0.5)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    app_line = next(line for line in lines if line["message"] == "whoami json-mark")
    access_line = next(line for line in lines if line["logger"] == "gunicorn.access" and line["path"] == "/test/whoami")
    assert (app_line["app_id"], app_line["request_id"]) == (E2E_TENANTS[2], "json-req-1")
    assert (access_line["app_id"], access_line["request_id"]) == (E2E_TENANTS[2], "json-req-1")
    assert str(access_line["status"]) == "200"
    assert isinstance(access_line["duration_ms"], int)
