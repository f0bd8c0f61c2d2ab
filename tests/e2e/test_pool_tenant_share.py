"""One tenant's slow WeChat calls hold none of the connections another tenant needs (gunicorn gevent + the pool).

Before: a request kept its pooled connections while it waited on WeChat, so six phone bindings of tenant A,
hanging in a slow WeChat, held every connection of the pool and tenant B's `GET /me` waited for one (8 ms ->
4.3 s). Now the WeChat client hands them back before its HTTP call (routers.backends.pool.release_pooled_connections).

The check does not rest on timing: the pool is smaller than A's hanging calls (2 connections, 6 calls) and a
request waits at most DB_POOL_TIMEOUT (3 s) for a connection, far less than WeChat's delay (15 s). Holding
connections across the call, A's third call could not even reach WeChat and B's requests would get 503; handing
them back, all six of A's calls are inside WeChat at once and every one of B's requests is answered while they are.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.e2e.conftest import Services
from tests.e2e.services import running_gunicorn, wait_for
from tests.e2e.wechat_tenants import authorized, fake_wechat, login, onboard
from wechat.fake_server import FakeWeChatServer

TENANT_A = "wx00000000000000da"
TENANT_B = "wx00000000000000db"
PHONE = "/wxa/business/getuserphonenumber"
POOL_SIZE = 2
POOL_TIMEOUT = 3
WECHAT_DELAY = 15.0
A_CALLS = 6


@dataclass
class Stack:
    port: int
    wechat: FakeWeChatServer


@pytest.fixture
def two_tenants(services: Services) -> Iterator[Stack]:
    with fake_wechat(TENANT_A, TENANT_B) as wechat:
        env = services.env(
            DB_POOL_SIZE=str(POOL_SIZE),
            DB_POOL_TIMEOUT=str(POOL_TIMEOUT),
            WECHAT_API_BASE=wechat.base_url,
            WECHAT_TIMEOUT_SECONDS="30",  # WeChat is slow here, not down
        )
        for app_id in (TENANT_A, TENANT_B):
            onboard(env, app_id)
        # One worker: its pool is the one both tenants share.
        with running_gunicorn(env, services.workdir / "gunicorn-tenant-share.log", workers=1) as port:
            yield Stack(port=port, wechat=wechat)


def test_a_tenants_hanging_wechat_calls_leave_the_pool_to_other_tenants(two_tenants):
    port, wechat = two_tenants.port, two_tenants.wechat
    a_headers = authorized(TENANT_A, login(port, TENANT_A, "alice"))
    b_headers = authorized(TENANT_B, login(port, TENANT_B, "bob"))
    url = f"http://127.0.0.1:{port}/api/v1"
    assert requests.get(f"{url}/me", headers=b_headers, timeout=30).status_code == 200
    wechat.control.set_delay(PHONE, WECHAT_DELAY, app_id=TENANT_A)

    def bind_phone(n: int) -> requests.Response:
        return requests.post(f"{url}/me/phone", json={"code": f"phone-1380000000{n}"}, headers=a_headers, timeout=60)

    with ThreadPoolExecutor(A_CALLS) as executor:
        a_calls = [executor.submit(bind_phone, n) for n in range(A_CALLS)]

        def a_calls_inside_wechat() -> int:
            return wechat.control.counters(TENANT_A).get(PHONE, 0)

        # Each call has been counted by the fake and sleeps there: all six hang in WeChat at once.
        try:
            wait_for(lambda: a_calls_inside_wechat() == A_CALLS, seconds=WECHAT_DELAY / 2, what="A's six calls")
        except TimeoutError:
            statuses = [call.result().status_code for call in a_calls]
            pytest.fail(f"{a_calls_inside_wechat()} of A's {A_CALLS} calls reached WeChat; statuses {statuses}")
        started = time.monotonic()
        b_answers = [requests.get(f"{url}/me", headers=b_headers, timeout=30) for _ in range(20)]
        b_seconds = time.monotonic() - started
        a_pending = sum(not call.done() for call in a_calls)
        a_statuses = [call.result().status_code for call in a_calls]
    print(f"B's 20 /me while A's calls hung: {b_seconds:.2f} s; A pending then {a_pending}, A's answers {a_statuses}")
    assert [answer.status_code for answer in b_answers] == [200] * 20
    # B was served while every one of A's calls was still waiting on WeChat (none had come back yet).
    assert a_pending == A_CALLS
    assert a_statuses == [200] * A_CALLS
