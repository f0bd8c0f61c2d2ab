"""gunicorn with the shipped config (gevent, PyMySQL, the connection pool) on the private MariaDB.

- two `SELECT SLEEP(1)` requests on one worker run side by side (the driver is cooperative);
- 1,000 concurrent clients are served within the connection budget: the excess waits, none fails;
- however many requests, the pools open no more connections than they hold;
- the master and its workers write their lines in one time zone.
"""

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

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


def test_steady_state_requests_open_no_more_connections_than_the_pools_hold(services, two_workers):
    # Not "exactly 0 in steady state": whether a warm-up fills every pool to its size depends on how the
    # clients happened to spread over the workers (one run in two opened a last connection afterwards). What
    # holds every time is the bound: the pools never open more than they hold, whatever the number of requests
    # (without a pool, one connection per request).
    budget = 2 * 2 * POOL_SIZE  # workers x aliases x pool size
    load = {"port": two_workers, "paths": ["/test/users/count"], "app_ids": list(E2E_TENANTS), "clients": 20}
    before = services.mariadb.status("Connections")
    warm = run_load({**load, "requests": 400})
    middle = services.mariadb.status("Connections")
    steady = run_load({**load, "requests": 1000})
    after = services.mariadb.status("Connections")
    opened = after - before - 2  # minus the two later status queries' own connections
    in_steady_state = after - middle - 1
    print(f"1,400 requests opened {opened} MySQL connection(s), {in_steady_state} of them in the last 1,000")
    assert warm["statuses"] == {"200": 400} and steady["statuses"] == {"200": 1000}
    assert opened <= budget


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


def test_the_master_and_its_workers_log_in_one_time_zone(services):
    # Django sets TZ to TIME_ZONE in each worker; the master used to log in the host's zone (+0000 next to +0800).
    log_path = services.workdir / "gunicorn-tz.log"
    # A host whose clock is in UTC (this test process has Django's TZ=Asia/Shanghai in its environment).
    env = {**services.env(), "TZ": "UTC"}
    with running_gunicorn(env, log_path, workers=1) as port:
        assert get(port, "/healthz").status_code == 200
    lines = re.findall(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ([+-]\d{4})\] \[(\d+)\]", log_path.read_text(), re.MULTILINE)
    offsets_by_pid: dict[str, set[str]] = {}
    for offset, pid in lines:
        offsets_by_pid.setdefault(pid, set()).add(offset)
    print(f"gunicorn's lines, offsets by process: {offsets_by_pid}")
    expected = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%z")  # TIME_ZONE's default
    assert len(offsets_by_pid) >= 2  # the master and a worker ("Booting worker", "Worker exiting")
    assert set().union(*offsets_by_pid.values()) == {expected}
