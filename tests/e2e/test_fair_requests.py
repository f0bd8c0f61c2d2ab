"""Fair requests on a real gunicorn (gevent, the shipped config, one worker, a pool of 4 connections): tenant A
floods a slow endpoint at 10x its share (20 clients at once, each request holding a pooled connection for
300 ms) while tenant B makes quick requests one after another. B's latencies are measured twice, without the
bound (TENANT_MAX_CONCURRENT_PER_WORKER=0: A's requests queue for the pool, and B's behind them) and with a bound
of 2 (A's 3rd request at once gets 429 tenant_busy; B finds a free connection). Figures printed (pytest -s).
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import running_gunicorn

TENANT_A, TENANT_B = E2E_TENANTS[0], E2E_TENANTS[1]
BOUND = 2
A_CLIENTS = 10 * BOUND  # 10x its share
A_SECONDS = 0.3  # each of A's requests holds a pooled connection this long (SELECT SLEEP)
RUN_SECONDS = 6


@dataclass
class Run:
    b_latencies: list[float] = field(default_factory=list)
    b_statuses: Counter = field(default_factory=Counter)
    a_statuses: Counter = field(default_factory=Counter)
    a_busy_answers: list[tuple[str, str | None]] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.b_latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def flood(port: int) -> Run:
    run, stop = Run(), threading.Event()
    url = f"http://127.0.0.1:{port}/test/sleep"

    def tenant_a() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                answer = session.get(url, params={"seconds": A_SECONDS}, headers={"X-AppID": TENANT_A}, timeout=30)
                run.a_statuses[answer.status_code] += 1
                if answer.status_code == 429:
                    if len(run.a_busy_answers) < 3:
                        run.a_busy_answers.append((answer.json()["error"]["code"], answer.headers.get("Retry-After")))
                    time.sleep(0.05)  # a flood, not a busy loop eating the machine's two cores

    threads = [threading.Thread(target=tenant_a) for _ in range(A_CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)  # A's flood under way
        ends = time.monotonic() + RUN_SECONDS
        with requests.Session() as session:
            while time.monotonic() < ends:
                started = time.monotonic()
                answer = session.get(url, params={"seconds": 0.005}, headers={"X-AppID": TENANT_B}, timeout=30)
                run.b_latencies.append(time.monotonic() - started)
                run.b_statuses[answer.status_code] += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return run


@pytest.mark.parametrize("bound", [0, BOUND])
def test_tenant_bs_latency_while_tenant_a_floods_at_10x_its_share(services: Services, bound: int) -> None:
    env = services.env(DB_POOL_SIZE="4", DB_POOL_TIMEOUT="10", TENANT_MAX_CONCURRENT_PER_WORKER=str(bound))
    with running_gunicorn(env, services.workdir / f"gunicorn-fair-{bound}.log", workers=1) as port:
        run = flood(port)
    p50, p99 = run.p(0.5) * 1000, run.p(0.99) * 1000
    print(
        f"\nbound {bound or 'none'}: B {len(run.b_latencies)} requests p50 {p50:.0f} ms p99 {p99:.0f} ms"
        f" statuses {dict(run.b_statuses)}; A statuses {dict(run.a_statuses)}"
    )

    assert run.b_statuses == Counter({200: len(run.b_latencies)})
    if bound:
        assert run.a_statuses[429] > 0 and run.a_statuses[200] > 0
        assert run.a_busy_answers[0] == ("tenant_busy", "1")
        # A holds at most 2 of the 4 connections: B never waits behind A's queue for the pool.
        assert p99 < 1000
    else:
        assert run.a_statuses[429] == 0
        # Without the bound B waits behind A's requests for a connection: at least one of A's 300 ms.
        assert p99 > A_SECONDS * 1000
