"""The whole production stack as real processes: supervisord (the shipped configs) runs nginx -> gunicorn and
an rq worker, on the private MariaDB and Redis, with a stand-in Sentry on 127.0.0.1.

The tests share one stack (module scope) and run in file order; each one leaves it serving.
"""

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.sentry_stub import SentryStub, sentry_stub
from tests.e2e.services import get, load_summary, started_load, wait_for
from tests.e2e.stack import (
    Stack,
    nginx_alone,
    running_stack,
    silent_upstream,
    wait_for_new_pid,
    wait_gone,
    worker_pids,
)

WEB, WORKER = "miniplex-web", "miniplex-worker:miniplex-worker-00"


@dataclass
class Running:
    stack: Stack
    sentry: SentryStub
    services: Services

    @property
    def port(self) -> int:
        return self.stack.nginx_port

    def ctl(self, *args: str, check: bool = True) -> str:
        return self.stack.supervised.ctl(*args, check=check)


@pytest.fixture(scope="module")
def running(services: Services) -> Iterator[Running]:
    with sentry_stub() as sentry:
        env = services.env(SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="e2e", MINIPLEX_RELEASE="e2e-release")
        with running_stack(services.workdir / "stack", env) as stack:
            yield Running(stack=stack, sentry=sentry, services=services)


@pytest.fixture
def stack(running: Running, running_services: Services) -> Running:
    """The stack, with MariaDB and Redis started again after the test whatever it did to them."""
    return running


def test_requests_through_nginx_reach_their_own_tenants(stack):
    def write_then_read(n: int) -> tuple[str, dict]:
        app_id = E2E_TENANTS[n % 3]
        return app_id, get(stack.port, f"/test/users?n=e2e{n}&max_sleep=0.05", app_id).json()

    def users(app_id: str) -> int:
        answer = get(stack.port, "/test/users/count", app_id).json()
        assert answer["app_id"] == app_id
        return answer["users"]

    before = {app_id: users(app_id) for app_id in E2E_TENANTS}  # earlier modules' jobs may have written some
    with ThreadPoolExecutor(12) as executor:
        results = list(executor.map(write_then_read, range(60)))
    for app_id, body in results:
        assert body["app_id"] == app_id
        assert body["mine"] is True
        # Its own rows only: the users of its requests, and those its jobs wrote (named after its own database)
        # when an earlier test module of the session enqueued some.
        assert app_id in body["nicknames"]
        assert all(nickname.endswith(app_id) for nickname in body["nicknames"]), body["nicknames"]
    assert {app_id: users(app_id) - before[app_id] for app_id in E2E_TENANTS} == dict.fromkeys(E2E_TENANTS, 20)


def test_request_ids_and_the_client_address_are_passed_on(stack):
    sent = get(stack.port, "/test/whoami", E2E_TENANTS[0], **{"X-Request-ID": "req-from-client-1"})
    assert sent.headers["X-Request-ID"] == "req-from-client-1"
    assert sent.json()["request_id"] == "req-from-client-1"
    made = get(stack.port, "/test/whoami", E2E_TENANTS[0])
    assert len(made.headers["X-Request-ID"]) == 32  # nginx's $request_id
    assert made.json()["request_id"] == made.headers["X-Request-ID"]
    assert made.json()["x_real_ip"] == "127.0.0.1"
    assert made.json()["x_forwarded_for"] == "127.0.0.1"
    assert made.json()["release"] == "e2e-release"


def test_every_log_line_of_a_request_carries_its_app_id_and_request_id_once(stack):
    request_id = f"log-{uuid.uuid4().hex}"
    mark = uuid.uuid4().hex
    get(stack.port, f"/test/whoami?mark={mark}", E2E_TENANTS[1], **{"X-Request-ID": request_id})
    app_line = f"app_id={E2E_TENANTS[1]} request_id={request_id} tests.whoami: whoami {mark}"
    access_line = f"app_id={E2E_TENANTS[1]} request_id={request_id} client=127.0.0.1"

    def logged() -> bool:
        return access_line in stack.stack.supervised.log("web.log")

    wait_for(logged, seconds=10, what="the access line")
    log = stack.stack.supervised.log("web.log")
    assert log.count(app_line) == 1, log[-3000:]
    assert log.count(access_line) == 1


def test_nginx_answers_json_for_too_large_bodies_timeouts_and_a_missing_gunicorn(stack):
    too_large = requests.post(
        f"http://127.0.0.1:{stack.port}/api/v1/ping",
        data=b"x" * 300_000,
        headers={"X-AppID": E2E_TENANTS[0]},
        timeout=30,
    )
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "request_too_large"

    workdir = stack.services.workdir / "nginx-504"
    with silent_upstream() as upstream, nginx_alone(workdir, upstream_port=upstream, read_timeout="1s") as port:
        slow = get(port, "/api/v1/ping", E2E_TENANTS[0])
    assert slow.status_code == 504
    assert slow.json()["error"]["code"] == "gateway_timeout"

    stack.ctl("stop", WEB)
    try:
        down = get(stack.port, "/api/v1/ping", E2E_TENANTS[0])
        assert down.status_code == 502
        assert down.json()["error"]["code"] == "service_unavailable"
        assert down.headers["Retry-After"] == "5"
    finally:
        stack.ctl("start", WEB)
    assert get(stack.port, "/api/v1/ping", E2E_TENANTS[0]).status_code == 200


def test_the_rq_worker_under_supervisor_runs_a_tenants_job(stack):
    assert stack.stack.supervised.state(WORKER) == "RUNNING"
    job_id = get(stack.port, "/test/enqueue?marker=e2e", E2E_TENANTS[2]).json()["job_id"]

    def finished() -> bool:
        return get(stack.port, f"/test/jobs/{job_id}", E2E_TENANTS[2]).json()["status"] == "finished"

    wait_for(finished, seconds=60, what="the job")
    result = get(stack.port, f"/test/jobs/{job_id}", E2E_TENANTS[2]).json()["result"]
    assert result == {"app_id": E2E_TENANTS[2], "database": f"mp_{E2E_TENANTS[2]}", "marker": "e2e"}


def test_kill_9_of_the_gunicorn_master_is_recovered_by_supervisor(stack):
    sup = stack.stack.supervised
    master = sup.pid(WEB)
    workers = worker_pids(master)
    os.kill(master, signal.SIGKILL)
    new_master = wait_for_new_pid(sup, WEB, master)
    # The orphaned workers notice that their master is gone and exit by themselves.
    wait_gone(workers, seconds=30)
    wait_for(lambda: get(stack.port, "/api/v1/ping", E2E_TENANTS[0]).status_code == 200, seconds=60, what="serving")
    assert new_master != master
    assert worker_pids(new_master).isdisjoint(workers)


def test_a_hup_under_steady_load_loses_no_request(stack):
    sup = stack.stack.supervised
    master = sup.pid(WEB)
    old_workers = worker_pids(master)
    spec = {
        "port": stack.port,
        "paths": ["/api/v1/ping", "/test/users/count"],
        "app_ids": list(E2E_TENANTS),
        "clients": 50,
        "seconds": 12,
        "timeout": 30,
        "limit": 60,
    }
    with started_load(spec) as load:
        time.sleep(3)
        stack.ctl("signal", "HUP", WEB)
        time.sleep(4)
        stack.ctl("signal", "HUP", WEB)
        summary = load_summary(load, timeout=90)
    print(f"HUP twice under 50 clients: {json.dumps(summary)[:300]}")
    assert summary["sent"] > 500
    assert summary["error_count"] == 0, summary["errors"]
    assert summary["statuses"] == {"200": summary["sent"]}
    assert summary["wrong_tenant"] == 0
    assert sup.pid(WEB) == master  # reloaded, not restarted
    assert worker_pids(master).isdisjoint(old_workers)


def test_sentry_events_carry_the_app_id_of_their_request_while_tenants_run_at_once(stack):
    before = len(stack.sentry.snapshot())

    def one(n: int) -> tuple[str, int]:
        app_id = E2E_TENANTS[n % 3]
        path = "/test/fail" if n % 2 == 0 else "/test/users/count"
        return app_id, get(stack.port, path, app_id, **{"X-Request-ID": f"sentry-{n}"}).status_code

    with ThreadPoolExecutor(12) as executor:
        results = list(executor.map(one, range(36)))
    assert [status for _, status in results] == [500 if n % 2 == 0 else 200 for n in range(36)]

    wait_for(lambda: len(stack.sentry.snapshot()) - before >= 18, seconds=30, what="18 Sentry events")
    events = [event for event in stack.sentry.snapshot()[before:] if "exception" in event]
    assert len(events) == 18
    for event in events:
        message = event["exception"]["values"][-1]["value"]
        assert message == f"test failure for {event['tags']['app_id']}"
        n = int(event["tags"]["request_id"].removeprefix("sentry-"))
        assert event["tags"]["app_id"] == E2E_TENANTS[n % 3]
        assert event["environment"] == "e2e"
        assert event["release"] == "e2e-release"
    assert sorted(int(event["tags"]["request_id"][7:]) for event in events) == list(range(0, 36, 2))


def test_a_failed_jobs_sentry_event_carries_the_jobs_tenant(stack):
    app_id = E2E_TENANTS[1]
    job_id = get(stack.port, "/test/enqueue?job=fail&marker=sentry-job", app_id).json()["job_id"]

    def job_events() -> list[dict]:
        return [
            event
            for event in stack.sentry.snapshot()
            if "a bug in the job" in json.dumps(event.get("exception", {})) and event.get("tags", {}).get("app_id")
        ]

    wait_for(lambda: len(job_events()) >= 1, seconds=60, what="the failed job's Sentry event")
    assert get(stack.port, f"/test/jobs/{job_id}", app_id).json()["status"] == "failed"
    assert {event["tags"]["app_id"] for event in job_events()} == {app_id}
    assert all(event["release"] == "e2e-release" for event in job_events())


def test_with_mysql_stopped_tenant_endpoints_answer_503_json_and_recover_by_themselves(stack):
    app_id = E2E_TENANTS[0]
    assert get(stack.port, "/test/users/count-api", app_id).status_code == 200
    stack.services.mariadb.stop()
    for _ in range(3):  # pooled connections are found dead, then new ones are refused: 503 every time
        down = get(stack.port, "/test/users/count-api", app_id)
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "service_unavailable"
        assert down.headers["Retry-After"]
    assert get(stack.port, "/healthz").status_code == 200
    ready = get(stack.port, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["down"] == ["database"]

    stack.services.mariadb.start()
    wait_for(lambda: get(stack.port, "/test/users/count-api", app_id).status_code == 200, seconds=30, what="recovery")
    assert get(stack.port, "/readyz").status_code == 200


def test_with_redis_stopped_endpoints_that_need_no_queue_keep_answering(stack):
    stack.services.redis.stop()
    started = time.monotonic()
    # Past the local cache's 5 s, the tenants are read from the control database instead of Redis.
    while time.monotonic() - started < 7:
        for app_id in E2E_TENANTS:
            response = get(stack.port, "/test/users/count", app_id)
            assert response.status_code == 200, response.text
            assert response.json()["app_id"] == app_id
            # A DRF endpoint too: its throttles count in Redis and let requests through while it is down.
            assert get(stack.port, "/test/users/count-api", app_id).status_code == 200
            assert get(stack.port, "/api/v1/ping", app_id).json() == {"app_id": app_id}
        time.sleep(0.5)
    assert get(stack.port, "/healthz").status_code == 200
    ready = get(stack.port, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["down"] == ["redis"]

    stack.services.redis.start()
    wait_for(lambda: get(stack.port, "/readyz").status_code == 200, seconds=30, what="ready again")
    # The worker rode out the outage (rq backs off and reconnects) or supervisor restarted it: jobs run again.
    job_id = get(stack.port, "/test/enqueue?marker=after-redis", E2E_TENANTS[0]).json()["job_id"]

    def finished() -> bool:
        return get(stack.port, f"/test/jobs/{job_id}", E2E_TENANTS[0]).json()["status"] == "finished"

    try:
        wait_for(finished, seconds=90, what="a job after Redis came back")
    except TimeoutError:
        print(stack.stack.supervised.log("worker.log")[-5000:], stack.ctl("status", check=False))
        raise
    assert stack.stack.supervised.state(WORKER) == "RUNNING"


def test_client_supplied_fields_cannot_forge_fields_of_the_access_line(stack):
    request_id = f"forge-{uuid.uuid4().hex}"
    forged_app_id = f"{E2E_TENANTS[0]} request_id=forged-{request_id}"
    response = get(
        stack.port,
        "/api/v1/ping",
        forged_app_id,
        **{"X-Request-ID": request_id, "X-Forwarded-For": "10.9.8.7 status=200"},
    )
    assert response.status_code == 400

    def access_lines() -> list[str]:
        lines = stack.stack.supervised.log("web.log").splitlines()
        return [line for line in lines if f"request_id={request_id} client=" in line]

    wait_for(access_lines, seconds=10, what="the access line")
    [line] = access_lines()
    assert f"app_id={E2E_TENANTS[0]}\\x20request_id=forged-{request_id} " in line
    assert f" request_id=forged-{request_id}" not in line
    assert "client=10.9.8.7\\x20status=200," in line
