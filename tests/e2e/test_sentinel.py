"""Redis through Sentinel: the master is killed (kill -9) under load, the sentinels promote the replica, and the stack
goes on (docs/redis-sentinel.md has the figures this test prints).

A master, a replica and three `redis-sentinel` processes of this test's own on free loopback ports; nginx,
gunicorn, an rq worker and the outbox relay under supervisord (the shipped configs), given REDIS_SENTINELS only (no
address of a Redis anywhere). Requests (/api/v1/ping, a job's state) run every 50 ms and jobs are enqueued (in a
transaction, as the services do) every 250 ms. The replica's link is cut, so that the jobs enqueued from then on
exist only on the master, and the master is killed. The test measures the failover and the 503 window, checks that
every accepted job ran (those the new master never received are pushed again from their outbox records), and that
the access_token holder kept one token per AppID (one stable_token call per AppID, before and after).
"""

import json
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.e2e.conftest import Services
from tests.e2e.services import manage, stop_process, wait_for
from tests.e2e.stack import Supervised, running_stack
from tests.e2e.wechat_tenants import fake_wechat, onboard
from tests.helpers import free_port
from wechat.fake_server import FakeWeChatServer

MASTER_NAME = "miniplex-e2e"
TENANTS = ("wx00000000000005e1", "wx00000000000005e2")
STABLE_TOKEN = "/cgi-bin/stable_token"
SETTINGS = "tests.e2e.sentinel_settings"  # the e2e settings and a view enqueueing in a transaction
WORKER = "miniplex-worker:miniplex-worker-00"
DOWN_AFTER_MS = 1000  # how long the sentinels wait before they call the master down


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    wechat: FakeWeChatServer


@dataclass
class SentinelCluster:
    folder: Path
    master_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    sentinel_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(3)])
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_redis(self, name: str, port: int, *extra: str) -> None:
        self.processes[name] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_sentinel(self, index: int, port: int) -> None:
        config = self.folder / f"sentinel-{index}.conf"  # the sentinel rewrites its file: one each
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        with open(self.folder / f"sentinel-{index}.log", "ab") as log:
            self.processes[f"sentinel-{index}"] = subprocess.Popen(
                ["redis-sentinel", str(config)], cwd=self.folder, stdout=log, stderr=subprocess.STDOUT
            )

    def sentinel(self, index: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinel_ports[index], socket_timeout=2)

    def master_port_named(self) -> int | None:
        """The master's port as the first sentinel that answers names it."""
        for index in range(len(self.sentinel_ports)):
            try:
                address: Any = self.sentinel(index).sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(address[1])
            except (redis.RedisError, TypeError):
                continue
        return None

    def env(self) -> dict[str, str]:
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
        }


def _replica_in_sync(cluster: SentinelCluster) -> bool:
    try:
        info = redis.Redis(port=cluster.replica_port).info("replication")
        known: Any = cluster.sentinel().sentinel_slaves(MASTER_NAME)
        others: Any = cluster.sentinel().sentinel_sentinels(MASTER_NAME)
    except redis.RedisError:
        return False
    return info.get("master_link_status") == "up" and len(known) == 1 and len(others) == 2


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    cluster = SentinelCluster(folder=tmp_path / "sentinel")
    cluster.folder.mkdir()
    try:
        cluster.start_redis("master", cluster.master_port)
        cluster.start_redis("replica", cluster.replica_port, "--replicaof", "127.0.0.1", str(cluster.master_port))
        for index, port in enumerate(cluster.sentinel_ports):
            cluster.start_sentinel(index, port)
        wait_for(lambda: _replica_in_sync(cluster), seconds=30, what="the replica and the three sentinels")
        yield cluster
    finally:
        for process in cluster.processes.values():
            stop_process(process)


TOKEN_SCRIPT = (
    "import json, sys; from accounts.wechat_access import access_token_holder; "
    f"print(json.dumps({{a: access_token_holder().get_token(a) for a in {TENANTS!r}}}))"
)


def tokens_now(env: dict[str, str]) -> dict[str, str]:
    """Each AppID's access_token, as a fresh process's holder gives it (through the sentinels)."""
    return json.loads(manage(env, "shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1])


@dataclass
class Probe:
    """A steady, bounded loop of requests in a thread: (monotonic time, status or 0 for no answer, body)."""

    port: int
    path: str
    every: float
    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[tuple[float, int, dict]] = field(default_factory=list)

    def run(self) -> None:
        session = requests.Session()
        for n in range(2000):  # bounded: about 2000 x every seconds at most
            if self.stop.is_set():
                return
            path = self.path.format(n=n)
            sent = time.monotonic()
            try:
                answer = session.get(f"http://127.0.0.1:{self.port}{path}", headers={"X-AppID": TENANTS[0]}, timeout=15)
                body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
                self.seen.append(
                    (time.monotonic(), answer.status_code, {**body, "n": n, "took": time.monotonic() - sent})
                )
            except requests.RequestException:
                self.seen.append((time.monotonic(), 0, {"n": n, "took": time.monotonic() - sent}))
            time.sleep(self.every)

    def after(self, moment: float) -> list[tuple[float, int, dict]]:
        return [item for item in self.seen if item[0] >= moment]


@pytest.fixture
def sentinel_stack(
    services: Services, sentinel_cluster: SentinelCluster, tmp_path: Path
) -> Iterator[tuple[Stack, Supervised]]:
    """nginx, gunicorn, an rq worker and the relay under supervisord (tests.e2e.stack), on the sentinels only."""
    with fake_wechat(*TENANTS) as wechat:
        env = services.env(
            WECHAT_API_BASE=wechat.base_url,
            OUTBOX_SWEEP_SECONDS="600",  # the default: the test runs the sweep itself after the failover
            OUTBOX_RELAY_SECONDS="1",
            # A job whose worker died with the old master is found and retried within seconds.
            JOBS_HEARTBEAT_SECONDS="2",
            JOBS_HEARTBEAT_GRACE_SECONDS="3",
            JOBS_MAINTENANCE_SECONDS="3",
            **sentinel_cluster.env(),
        )
        env.pop("REDIS_URL")  # the sentinels only
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        for app_id in TENANTS:
            onboard(env, app_id)
        try:
            with running_stack(tmp_path / "stack", env, settings_module=SETTINGS) as stack:
                yield Stack(env=env, port=stack.nginx_port, wechat=wechat), stack.supervised
        finally:
            # Not emptied first: after the failover some of the tenant's jobs name executions whose records are
            # gone from Redis, which drop_tenant's purge clears (tenants/jobs/purge.py) instead of failing on.
            for app_id in TENANTS:
                manage(env, "drop_tenant", app_id, "--yes")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _accepted(jobs: Probe, since: float = 0.0) -> int:
    return sum(status == 200 for _moment, status, _body in jobs.after(since))


def _job(stack: Stack, job_id: str) -> dict:
    answer = requests.get(
        f"http://127.0.0.1:{stack.port}/test/jobs/{job_id}", headers={"X-AppID": TENANTS[0]}, timeout=15
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_killing_the_master_under_load_loses_no_job_and_no_token(sentinel_stack, sentinel_cluster, services, tmp_path):
    (stack, supervised), cluster = sentinel_stack, sentinel_cluster
    worker_pid = supervised.pid(WORKER)
    tokens = tokens_now(stack.env)
    assert [stack.wechat.control.counters(app_id).get(STABLE_TOKEN) for app_id in TENANTS] == [1, 1]

    ping = Probe(port=stack.port, path="/api/v1/ping", every=0.05)
    run = uuid.uuid4().hex[:8]
    jobs = Probe(port=stack.port, path=f"/test/enqueue-in-transaction?marker=sentinel-{run}-{{n}}", every=0.25)
    reads = Probe(port=stack.port, path="", every=0.05)  # a job's state: a read that needs Redis (503 without it)
    threads = [threading.Thread(target=probe.run, daemon=True) for probe in (ping, jobs)]
    for thread in threads:
        thread.start()
    reads_thread = threading.Thread(target=reads.run, daemon=True)
    threads.append(reads_thread)
    try:
        wait_for(lambda: _accepted(jobs) >= 12, seconds=30, what="jobs before")
        # A job enqueued outside a transaction keeps no outbox record, so its state is in Redis only.
        read_job = requests.get(f"http://127.0.0.1:{stack.port}/test/enqueue?job=record&marker=read-{run}",
                                headers={"X-AppID": TENANTS[0]}, timeout=15).json()["job_id"]  # fmt: skip
        reads.path = f"/test/jobs/{read_job}"
        reads_thread.start()
        # Asynchronous replication loses what the replica has not received: the replica's link is cut (and it
        # cannot log in again: a user the master does not know), so the jobs accepted from then on exist only on
        # the master that is about to die, as after a replica's network trouble.
        cluster_master, replica = redis.Redis(port=cluster.master_port), redis.Redis(port=cluster.replica_port)
        replica.config_set("masteruser", "no-such-user")
        replica.config_set("masterauth", "wrong")
        replica.client_kill_filter(_type="master")
        wait_for(lambda: replica.info("replication")["master_link_status"] == "down", seconds=10, what="link cut")
        lagging = _accepted(jobs)
        wait_for(lambda: _accepted(jobs) >= lagging + 6, seconds=30, what="jobs while the replica lags")
        # A sweep while the replica lags: it must keep the records of the jobs only this master has (the replica
        # does not confirm them: OUTBOX_WAIT_REPLICAS), or the failover below would lose those jobs for good.
        lag_sweep = json.loads(manage(stack.env, "relay_outbox", "--once", "--sweep").strip().splitlines()[-1])
        assert lag_sweep["unreplicated"] is True, lag_sweep
        # What the replica had not received when the master died (read just before the kill): writes lost.
        replica_offset = redis.Redis(port=cluster.replica_port).info("replication")["slave_repl_offset"]
        master_offset = cluster_master.info("replication")["master_repl_offset"]
        cluster.processes["master"].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: cluster.master_port_named() == cluster.replica_port, seconds=30, what="the failover")
        promoted_at = time.monotonic()
        # Which jobs accepted before the kill the new master does not have: the writes replication lost.
        new_master = redis.Redis(port=cluster.replica_port)
        before = [body["job_id"] for moment, status, body in jobs.seen if status == 200 and moment < killed_at]
        prefix = stack.env.get("RQ_KEY_PREFIX", "rq")
        lost = [job_id for job_id in before if not new_master.exists(f"{prefix}:job:{job_id}")]
        # Some seconds of load after the failover: the stack has settled on the new master.
        wait_for(lambda: _accepted(jobs, since=promoted_at) >= 12 and time.monotonic() > promoted_at + 6, seconds=40,
                 what="jobs after the failover")  # fmt: skip
    finally:
        for probe in (ping, jobs, reads):
            probe.stop.set()
        for thread in threads:
            if thread.is_alive() or thread is not reads_thread:
                thread.join(timeout=30)

    windows = {}
    for name, probe in (("ping", ping), ("job_state", reads)):
        refused = [(moment, status) for moment, status, _b in probe.seen if status != 200]
        assert {status for _m, status in refused} <= {503}, refused  # unreachable Redis is a 503, never a 500
        assert all(moment >= killed_at for moment, _s in refused), f"{name}: refusals before the kill"
        windows[name] = (refused[-1][0] - refused[0][0]) if refused else 0.0, len(refused), len(probe.seen)
        first = round(refused[0][0] - killed_at, 2) if refused else None
        print(name, windows[name], "first 503 after the kill:", first)
        assert windows[name][0] < 15, f"{name}: 503s for {windows[name][0]:.1f} s"
        settled = probe.after(promoted_at + 3)
        assert settled and all(status == 200 for _m, status, _b in settled), f"{name}: not all 200 after failover"

    accepted = [body["job_id"] for _m, status, body in jobs.seen if status == 200]
    not_accepted = [status for _m, status, _b in jobs.seen if status != 200]
    assert set(not_accepted) <= {503}, not_accepted

    assert lost, "the replica fell behind, yet it had every job: nothing was tested"
    # The relay's sweep (every OUTBOX_SWEEP_SECONDS; run here at once rather than waited for) finds the records
    # whose jobs the new master does not have, and pushes them again.
    swept = manage(stack.env, "relay_outbox", "--once", "--sweep")
    markers = {f"job-sentinel-{run}-{body['n']}" for _m, status, body in jobs.seen if status == 200}
    database = _job(stack, accepted[0])["result"]["database"]  # the tenant's database, as its first job saw it

    def rows() -> set[str]:
        found = services.mariadb.sql(
            f"SELECT openid FROM `{database}`.accounts_miniprogramuser WHERE openid LIKE 'job-sentinel-{run}-%'"
        )
        return set(found.split())

    # Every accepted job ran: its row is there (a job run twice, once before the kill and once pushed again,
    # fails its second run on the unique openid, which is the point: it did run).
    wait_for(lambda: rows() >= markers, seconds=60, what=f"the rows of all {len(markers)} accepted jobs")
    ran_at = time.monotonic()
    assert rows() == markers
    # Every job the new master had lost was pushed again from its outbox record (by the relay's first pass on the
    # new master, for a tenant marked during the outage, or by the sweep), and ran there.
    pushed_again = [job_id for job_id in lost if new_master.exists(f"{prefix}:job:{job_id}")]
    assert pushed_again == lost
    # The state of each accepted job on the new master: a job that ran on the old master after the replica's link
    # was cut (and whose outbox record its worker then deleted) ran, but its state and result are gone with it.
    statuses = Counter(
        _text(new_master.hget(f"{prefix}:job:{job_id}", "status")) or "gone with the old master" for job_id in accepted
    )

    assert tokens_now(stack.env) == tokens  # the token record was on the replica: no new token, no refresh
    calls = {app_id: stack.wechat.control.counters(app_id).get(STABLE_TOKEN) for app_id in TENANTS}
    assert calls == dict.fromkeys(TENANTS, 1), calls

    figures = {
        "failover_seconds": round(promoted_at - killed_at, 2),
        **{f"{name}_requests": total for name, (_w, _n, total) in windows.items()},
        **{f"{name}_503": count for name, (_w, count, _t) in windows.items()},
        **{f"{name}_503_window_seconds": round(window, 2) for name, (window, _n, _t) in windows.items()},
        # redis-py retries a refused connection (3 times, with back-off): requests wait out the failover.
        "ping_slowest_seconds": round(max(body["took"] for _m, _s, body in ping.seen), 2),
        "job_state_slowest_seconds": round(max(body["took"] for _m, _s, body in reads.seen), 2),
        "enqueue_slowest_seconds": round(max(body["took"] for _m, _s, body in jobs.seen), 2),
        "jobs_accepted": len(accepted),
        "jobs_refused_503": len(not_accepted),
        "jobs_lost_by_replication": len(lost),
        "jobs_pushed_again_from_the_outbox": len(pushed_again),
        "jobs_lost_for_good": len(markers - rows()),
        "replication_lag_bytes_at_kill": master_offset - replica_offset,
        "all_jobs_ran_seconds_after_promotion": round(ran_at - promoted_at, 1),
        "job_statuses": dict(statuses),
        "sweep": swept.strip().splitlines()[-1] if swept.strip() else "",
        "sweep_during_lag": {key: lag_sweep[key] for key in ("already_queued", "pushed", "unreplicated")},
        "worker_restarted_by_supervisor": supervised.pid(WORKER) != worker_pid,
        "stable_token_calls": calls,
    }
    print("sentinel failover:", json.dumps(figures))
    (tmp_path / "figures.json").write_text(json.dumps(figures))
