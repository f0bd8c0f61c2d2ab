"""Fair jobs with real `manage.py rqworker` processes: tenant A has 2,000 jobs pending with a bound of 50, and
tenant B's job, enqueued after all of them, starts long before A's backlog drains (without the bound it would
start after A's 2,000). The figures are printed (pytest -s); benchmarks/fairness.py measures 100,000.
"""

import time

import pytest
from django.db import transaction
from rq.job import JobStatus

from core.tenant_context import activate_tenant
from tenants.jobs import enqueue, fairness, get_connection
from tenants.models import Tenant
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import fetch, running_workers, status, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tenant_db")]

A_JOBS = 2000
BOUND = 50
NOOP = "tenants.tests.fair_jobs.noop"


def test_tenant_bs_job_starts_before_tenant_as_backlog_drains(queue_name, settings, tmp_path):  # noqa: ANN001
    settings.JOBS_TENANT_MAX_QUEUED = BOUND
    for app_id in (TENANT_A, TENANT_B):
        fairness.tenant_bound_forget(app_id=app_id)
    a, b = (tenant_context_for(Tenant.objects.get(app_id=app_id)) for app_id in (TENANT_A, TENANT_B))
    with activate_tenant(a):
        OutboxJob.objects.all().delete()
        started = time.monotonic()
        with transaction.atomic(using=a.db_alias):
            a_ids = [enqueue(NOOP, f"a{n}") for n in range(A_JOBS)]
        enqueue_seconds = time.monotonic() - started
    queue = settings.JOBS_QUEUE
    assert fairness.queued_count(app_id=TENANT_A, queue=queue) == BOUND
    with running_workers(2, tmp_path, JOBS_TENANT_MAX_QUEUED=str(BOUND)):
        with activate_tenant(b):
            b_enqueued = time.time()
            b_id = enqueue(NOOP, "b")
        wait_for(lambda: status(b_id) == JobStatus.FINISHED, 60, "B's job never ran")
        b_job = fetch(b_id)
        assert b_job.started_at is not None
        b_wait = b_job.started_at.timestamp() - b_enqueued
        a_done = sum(1 for job_id in a_ids[: BOUND * 4] if status(job_id) == JobStatus.FINISHED)
        with activate_tenant(a):
            a_waiting = OutboxJob.objects.count()
        # Let A's releases go on a little: its jobs keep running (the workers release them as its count falls).
        wait_for(lambda: status(a_ids[BOUND * 3]) is not None, 60, "A's held jobs were not released")
    print(
        f"\n{A_JOBS} jobs of A enqueued in {enqueue_seconds:.2f} s (bound {BOUND}); B's job waited {b_wait:.2f} s"
        f" (enqueue -> start); when it had run, {a_done} of A's first {BOUND * 4} had finished and {a_waiting}"
        " of A's records were still in its outbox"
    )
    assert a_waiting > A_JOBS // 2  # B did not wait for A's backlog
    assert b_wait < 30
    with activate_tenant(a):
        OutboxJob.objects.all().delete()
    keys = (fairness.queued_key(queue=queue, app_id=TENANT_A), fairness.held_key(queue=queue, app_id=TENANT_A))
    get_connection().delete(*keys, fairness.held_tenants_key(queue=queue))
