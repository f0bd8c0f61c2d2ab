"""Fair jobs (tenants.jobs.fairness) on the real MariaDB and Redis: a tenant past its bound on queued jobs has its
next jobs kept in its outbox and released in their order as its count falls; nobody else waits; nothing is lost.

A worker taking a job is played here by `job_taken` (what TenantWorker calls before it forks) on a job popped from
the queue; tests/test_fair_workers.py runs real workers.
"""

import time
from collections.abc import Iterator

import pytest
from django.db import transaction
from rq.job import Job, JobStatus

from core.tenant_context import TenantContext, activate_tenant
from tenants.jobs import enqueue, fairness, get_connection, get_queue
from tenants.jobs.relay import outbox_relay
from tenants.jobs.release import job_taken
from tenants.models import Tenant
from tenants.outbox.control.models import PendingOutbox, PlatformOutboxJob
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for
from tests.helpers import SESSION_TENANTS, TENANT_A, TENANT_B

BOUND = 3
NOOP = "tenants.tests.fair_jobs.noop"


@pytest.fixture(autouse=True)
def bounded(tenant_db: None, queue_name: str, settings) -> Iterator[str]:  # noqa: ANN001
    settings.JOBS_TENANT_MAX_QUEUED = BOUND
    _empty_outboxes()
    for app_id in SESSION_TENANTS:
        fairness.tenant_bound_forget(app_id=app_id)
    yield queue_name
    _empty_outboxes()
    Tenant.objects.filter(app_id__in=SESSION_TENANTS).update(jobs_max_queued=None)
    for app_id in SESSION_TENANTS:
        fairness.tenant_bound_forget(app_id=app_id)


def _empty_outboxes() -> None:
    for app_id in SESSION_TENANTS:
        with activate_tenant(context(app_id)):
            OutboxJob.objects.all().delete()
    PlatformOutboxJob.objects.all().delete()
    PendingOutbox.objects.all().delete()


def context(app_id: str) -> TenantContext:
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


def enqueue_in_transaction(app_id: str, markers: list[str]) -> list[str]:
    tenant = context(app_id)
    with activate_tenant(tenant), transaction.atomic(using=tenant.db_alias):
        return [enqueue(NOOP, marker) for marker in markers]


def backlog(app_id: str) -> fairness.Backlog:
    tenant = Tenant.objects.get(app_id=app_id)
    return fairness.backlog_get(app_id=app_id, db_name=tenant.db_name, db_server=tenant.db_server)


def on_queue() -> list[str]:
    return get_queue().get_job_ids()


def held_records(app_id: str) -> list[str]:
    """The ids of the tenant's records whose jobs are not in Redis: the ones held back, oldest first."""
    with activate_tenant(context(app_id)):
        ids = list(OutboxJob.objects.order_by("created_at").values_list("id", flat=True))
    connection = get_connection()
    return [job_id for job_id in ids if not connection.exists(Job.key_for(job_id))]


def take(job_id: str) -> None:
    """A worker takes the job off the queue (as rq does) and tells the fairness bookkeeping (as TenantWorker does)."""
    queue = get_queue()
    queue.remove(job_id)
    job = queue.fetch_job(job_id)
    assert job is not None
    job.set_status(JobStatus.STARTED)
    job_taken(job_id=job_id, app_id=job.meta.get("app_id"), queue=queue.name)


def test_jobs_under_the_bound_are_pushed_at_commit():
    ids = enqueue_in_transaction(TENANT_A, ["a1", "a2", "a3"])
    assert on_queue() == ids
    assert fairness.queued_count(app_id=TENANT_A, queue=get_queue().name) == BOUND
    assert held_records(TENANT_A) == []
    assert not backlog(TENANT_A).held


def test_past_the_bound_jobs_wait_in_the_outbox_and_are_released_in_their_order():
    ids = enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(5)])
    assert on_queue() == ids[:3]
    assert held_records(TENANT_A) == ids[3:]
    assert fairness.held_tenants() == {TENANT_A}  # the relay is told to look
    assert backlog(TENANT_A) == fairness.Backlog(queued=3, bound=BOUND, held=True, outbox=5)
    # A job enqueued later (autocommit this time) waits behind the held ones, even once there is room.
    take(ids[0])
    with activate_tenant(context(TENANT_A)):
        late = enqueue(NOOP, "late")
    assert held_records(TENANT_A) == [*ids[3:], late]

    report = outbox_relay()  # room for one: the oldest held record
    assert report.pushed == 1
    assert on_queue() == [ids[1], ids[2], ids[3]]
    assert held_records(TENANT_A) == [ids[4], late]
    assert fairness.held_tenants() == {TENANT_A}  # still some left: still looked at

    for job_id in (ids[1], ids[2], ids[3]):
        take(job_id)  # the worker releases them itself once the count has fallen (JOBS_TENANT_RELEASE_AT)
    assert on_queue() == [ids[4], late]
    assert held_records(TENANT_A) == []
    assert not backlog(TENANT_A).held
    assert fairness.held_tenants() == set()
    # Drained: the next job is pushed at its commit again.
    (after,) = enqueue_in_transaction(TENANT_A, ["after"])
    assert on_queue() == [ids[4], late, after]


def test_another_tenants_jobs_are_pushed_while_one_is_held():
    enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(10)])
    assert len(held_records(TENANT_A)) == 7
    (b_job,) = enqueue_in_transaction(TENANT_B, ["b"])
    assert b_job in on_queue()
    assert on_queue().index(b_job) == BOUND  # behind A's three, not behind A's ten


def test_every_held_job_is_pushed_once_and_none_is_lost():
    ids = enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(40)])
    seen: list[str] = []
    for _ in range(100):
        waiting = on_queue()
        if not waiting and not held_records(TENANT_A):
            break
        for job_id in waiting:
            take(job_id)
            seen.append(job_id)
        outbox_relay(sweep=True)
    assert seen == ids


def test_a_worker_that_died_before_uncounting_its_job_leaves_no_count_behind():
    """The ids of jobs taken by a worker that died before it removed them are pruned when the bound is reached."""
    ids = enqueue_in_transaction(TENANT_A, ["a1", "a2", "a3"])
    queue = get_queue()
    key = fairness.queued_key(queue=queue.name, app_id=TENANT_A)
    old = time.time() - fairness.PRUNE_GRACE_SECONDS - 1
    for job_id in ids[:2]:
        queue.remove(job_id)  # taken...
        job = queue.fetch_job(job_id)
        assert job is not None
        job.set_status(JobStatus.STARTED)  # ...and run, but never uncounted (the worker was killed)
        get_connection().zadd(key, {job_id: old})
    assert get_connection().zcard(key) == BOUND
    (next_job,) = enqueue_in_transaction(TENANT_A, ["next"])
    assert next_job in on_queue()  # pushed at once: only one job really waits
    assert fairness.queued_count(app_id=TENANT_A, queue=queue.name) == 2


def test_a_tenants_own_bound_replaces_the_default():
    Tenant.objects.filter(app_id=TENANT_A).update(jobs_max_queued=1)
    fairness.tenant_bound_forget(app_id=TENANT_A)
    ids = enqueue_in_transaction(TENANT_A, ["a1", "a2"])
    assert on_queue() == ids[:1]
    assert held_records(TENANT_A) == ids[1:]
    b_ids = enqueue_in_transaction(TENANT_B, ["b1", "b2", "b3"])
    assert on_queue() == [ids[0], *b_ids]


def test_a_bound_of_zero_means_none():
    Tenant.objects.filter(app_id=TENANT_A).update(jobs_max_queued=0)
    fairness.tenant_bound_forget(app_id=TENANT_A)
    ids = enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(6)])
    assert on_queue() == ids


def test_held_jobs_whose_held_key_was_lost_are_still_relayed():
    """The held key could not be written (Redis went away at that moment): the record and the control database's
    mark still get the job out."""
    ids = enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(4)])
    get_connection().delete(fairness.held_key(queue=get_queue().name, app_id=TENANT_A))
    get_connection().delete(fairness.held_tenants_key(queue=get_queue().name))
    PendingOutbox.objects.create(app_id=TENANT_A)  # what the hold writes when Redis fails it
    take(ids[0])
    outbox_relay()
    assert on_queue() == ids[1:]


def test_one_releaser_at_a_time_keeps_a_tenants_jobs_in_order():
    ids = enqueue_in_transaction(TENANT_A, [f"a{n}" for n in range(5)])
    for job_id in ids[:3]:
        get_queue().remove(job_id)
        fairness.job_started(app_id=TENANT_A, queue=get_queue().name, job_id=job_id)  # room, nobody releasing
    assert fairness.release_lock(app_id=TENANT_A, queue=get_queue().name)  # another relay is releasing A's jobs
    try:
        report = outbox_relay()
    finally:
        fairness.release_unlock(app_id=TENANT_A, queue=get_queue().name)
    assert report.pushed == 0 and report.left[TENANT_A] == 5  # left for the one releasing, and still looked at
    assert outbox_relay().pushed == 2
    assert on_queue() == ids[3:]


def test_a_retired_tenant_is_no_longer_looked_at_for_held_jobs():
    queue = get_queue().name
    fairness.hold_mark(app_id="wx0000000000000dea", queue=queue)  # held when its tenant was retired
    outbox_relay()
    assert fairness.held_tenants() == set()
    assert fairness.held_token(app_id="wx0000000000000dea", queue=queue) is None
