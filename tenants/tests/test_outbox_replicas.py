"""The relay's sweep and asynchronous replication: a record is deleted only once a replica has its job.

A Redis master and a replica of this test's own (two `redis-server` processes on free loopback ports). The
replica's link is cut (it cannot log in again: a user the master does not know, as tests/e2e/test_sentinel.py
does), so that what the master writes from then on is on the master only; the "failover" is the master killed
and the replica promoted (REPLICAOF NO ONE), which is what Sentinel does. Without the WAIT, the sweep deletes the
record of a job that only the dying master had, and the job is lost for good (the first test shows it); with it
the record stays, and the relay pushes the job to the new master.
"""

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.db import transaction
from rq.job import Job

from core.tenant_context import activate_tenant
from tenants.jobs import enqueue
from tenants.jobs.outbox import replicas_confirm
from tenants.jobs.relay import outbox_relay
from tenants.models import Tenant
from tenants.outbox.control.models import PendingOutbox
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for
from tests.e2e.services import stop_process, wait_for
from tests.helpers import TENANT_A, free_port
from tests.job_functions import record_database

pytestmark = [pytest.mark.usefixtures("tenant_db"), pytest.mark.slow]


@dataclass
class Pair:
    master: subprocess.Popen
    replica: subprocess.Popen
    master_port: int
    replica_port: int

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"


def _redis_server(folder: Path, port: int, *extra: str) -> subprocess.Popen:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra]
    return subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    master_port, replica_port = free_port(), free_port()
    master = _redis_server(tmp_path, master_port)
    replica = _redis_server(tmp_path, replica_port, "--replicaof", "127.0.0.1", str(master_port))
    try:
        linked = lambda: redis.Redis(port=replica_port).info("replication").get("master_link_status") == "up"  # noqa: E731
        wait_for(lambda: _answers(master_port) and _answers(replica_port) and linked(), seconds=20, what="the pair")
        yield Pair(master, replica, master_port, replica_port)
    finally:
        for process in (master, replica):
            stop_process(process, timeout=10)
        PendingOutbox.objects.all().delete()  # the marks the kept records left


def _answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def queue_on(settings, queue_name: str):  # noqa: ANN001, ANN201
    """Points the jobs queue (and so the relay) at one Redis of the pair."""

    def point(url: str) -> None:
        settings.RQ_QUEUES = {queue_name: {"URL": url, "DEFAULT_TIMEOUT": 60}}

    settings.OUTBOX_WAIT_TIMEOUT_MS = 300
    return point


def _enqueue_in_transaction(marker: str) -> str:
    tenant = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant), transaction.atomic(using=tenant.db_alias):
        return enqueue(record_database, marker)


def _records() -> set[str]:
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        return set(OutboxJob.objects.values_list("id", flat=True))


def _cut_the_replica(pair: Pair) -> None:
    """The replica loses its link and cannot log in again: from now on the master's writes are its own only."""
    replica = redis.Redis(port=pair.replica_port)
    replica.config_set("masteruser", "no-such-user")
    replica.config_set("masterauth", "wrong")
    replica.client_kill_filter(_type="master")
    wait_for(lambda: replica.info("replication")["master_link_status"] == "down", seconds=10, what="link cut")


def _failover(pair: Pair) -> redis.Redis:
    """The master dies with what the replica never received; the replica becomes the master."""
    pair.master.send_signal(signal.SIGKILL)
    pair.master.wait(timeout=10)
    new_master = redis.Redis(port=pair.replica_port)
    new_master.replicaof("NO", "ONE")
    return new_master


def test_with_a_lagging_replica_a_sweep_without_wait_loses_the_job(pair, queue_on, settings):
    """What the WAIT prevents: the record is deleted while the job is on the master only, then the master dies."""
    settings.OUTBOX_WAIT_REPLICAS = 0
    queue_on(pair.url(pair.master_port))
    _cut_the_replica(pair)
    job_id = _enqueue_in_transaction("lost")
    assert redis.Redis(port=pair.master_port).exists(Job.key_for(job_id)) == 1

    assert outbox_relay(sweep=True).already_queued == 1
    assert job_id not in _records()
    new_master = _failover(pair)
    queue_on(pair.url(pair.replica_port))
    assert outbox_relay(sweep=True).pushed == 0
    assert new_master.exists(Job.key_for(job_id)) == 0  # on neither side: lost for good


def test_with_a_lagging_replica_the_sweep_keeps_the_record_and_the_job_survives_the_failover(pair, queue_on, settings):
    settings.OUTBOX_WAIT_REPLICAS = 1
    queue_on(pair.url(pair.master_port))
    _cut_the_replica(pair)
    job_ids = [_enqueue_in_transaction(f"kept-{n}") for n in range(3)]

    report = outbox_relay(sweep=True)
    assert (report.already_queued, report.unreplicated) == (3, True)
    assert set(job_ids) <= _records()  # kept: on the master only
    assert report.left[TENANT_A] == 3

    new_master = _failover(pair)
    assert [new_master.exists(Job.key_for(job_id)) for job_id in job_ids] == [0, 0, 0]  # replication lost them
    queue_on(pair.url(pair.replica_port))
    settings.OUTBOX_WAIT_REPLICAS = 0  # the new master has no replica yet: nothing to wait for in this test
    report = outbox_relay(sweep=True)
    assert report.pushed == 3
    assert [new_master.exists(Job.key_for(job_id)) for job_id in job_ids] == [1, 1, 1]
    assert not set(job_ids) & _records()


def test_with_the_replica_in_step_the_sweep_deletes_the_records_of_confirmed_jobs(pair, queue_on, settings):
    settings.OUTBOX_WAIT_REPLICAS = 1
    queue_on(pair.url(pair.master_port))
    job_id = _enqueue_in_transaction("confirmed")
    assert replicas_confirm() is True

    report = outbox_relay(sweep=True)
    assert (report.already_queued, report.unreplicated) == (1, False)
    assert job_id not in _records()
    assert redis.Redis(port=pair.replica_port).exists(Job.key_for(job_id)) == 1


def test_records_kept_for_the_replicas_do_not_stop_later_records_being_pushed(pair, queue_on, settings, monkeypatch):
    """More records than one batch, all kept: the next batch starts past them, so a record whose push failed at
    its commit (its job on no Redis) is still pushed in the same pass."""
    from tenants.jobs import relay

    monkeypatch.setattr(relay, "BATCH", 2)
    settings.OUTBOX_WAIT_REPLICAS = 1
    queue_on(pair.url(pair.master_port))
    _cut_the_replica(pair)
    kept = [_enqueue_in_transaction(f"batch-{n}") for n in range(4)]
    missing = _enqueue_in_transaction("missing")
    redis.Redis(port=pair.master_port).delete(Job.key_for(missing))  # as if its push had failed at the commit

    report = outbox_relay(sweep=True)
    assert (report.already_queued, report.pushed, report.unreplicated) == (4, 1, True)
    assert redis.Redis(port=pair.master_port).exists(Job.key_for(missing)) == 1
    assert {*kept, missing} <= _records()
