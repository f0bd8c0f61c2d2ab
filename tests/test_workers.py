"""Real `manage.py rqworker` processes on the real Redis: each job runs in its own tenant's database, or not at all."""

import os
import signal
import time
from collections import Counter

import pytest
from django.db import transaction
from rq.job import JobStatus

from accounts.models import MiniProgramUser
from core.tenant_context import TenantContext, activate_tenant
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tenants.services import tenant_provision, tenant_resume, tenant_suspend
from tests.helpers import SESSION_TENANTS, TENANT_A, TENANT_C, mysql_rows, run_manage, subprocess_env
from tests.job_functions import fail_for_good, fail_until, record_database, sleep_then_record
from tests.workers import (
    FAST_RECOVERY_ENV,
    ended_count,
    fetch,
    jobs_queue,
    registries_holding,
    running_workers,
    status,
    wait_for,
)

# Every test here runs real rq workers.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tenant_db")]

EXTRA_TENANTS = [f"wx{0xD0 + index:016x}" for index in range(7)]
JOBS_PER_TENANT = 100


def tenant_rows(db_name: str) -> list[tuple[str, str]]:
    return mysql_rows(f"SELECT openid, nickname FROM `{db_name}`.accounts_miniprogramuser")  # noqa: S608


def test_1000_jobs_over_10_tenants_each_run_against_their_own_database(queue_name, tmp_path):
    for index, app_id in enumerate(EXTRA_TENANTS):
        tenant_provision(app_id=app_id, name=f"Extra {index}")
    tenants = list(Tenant.objects.filter(app_id__in=[*SESSION_TENANTS, *EXTRA_TENANTS]))
    assert len(tenants) == 10

    job_tenant: dict[str, Tenant] = {}
    start = time.monotonic()
    for tenant in tenants:
        with activate_tenant(tenant_context_for(tenant)):
            for index in range(JOBS_PER_TENANT):
                job_tenant[enqueue(record_database, f"{tenant.app_id}-{index}")] = tenant
    enqueued = time.monotonic() - start
    assert len(jobs_queue()) == 1000

    with running_workers(4, tmp_path) as workers:
        elapsed = wait_for(lambda: ended_count() == 1000, 240, lambda: workers[0].log()[-3000:])
    print(f"1,000 jobs over 10 tenants: enqueued in {enqueued:.2f}s, run by 4 workers in {elapsed:.1f}s")

    statuses = Counter(status(job_id) for job_id in job_tenant)
    assert statuses == {JobStatus.FINISHED: 1000}
    for job_id, tenant in job_tenant.items():
        job = fetch(job_id)
        assert job.meta["app_id"] == tenant.app_id
        assert job.return_value() == {"app_id": tenant.app_id, "database": tenant.db_name, "marker": job.args[0]}
    for tenant in tenants:
        rows = tenant_rows(tenant.db_name)
        assert len(rows) == JOBS_PER_TENANT
        assert {nickname for _, nickname in rows} == {tenant.db_name}
        assert all(openid.startswith(f"job-{tenant.app_id}-") for openid, _ in rows)


class Boom(Exception):
    pass


def test_a_rolled_back_transaction_enqueues_nothing_and_a_committed_one_enqueues_on_commit(queue_name, tmp_path):
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant_a):
        with pytest.raises(Boom), transaction.atomic(using=tenant_a.db_alias):
            MiniProgramUser.objects.create(openid="written-then-rolled-back")
            rolled_back = enqueue(record_database, "rolled-back")
            raise Boom
        with transaction.atomic(using=tenant_a.db_alias):
            MiniProgramUser.objects.create(openid="written-and-committed")
            committed = enqueue(record_database, "committed")
            assert registries_holding(committed) == []  # the id is known, the job is not enqueued yet
        assert registries_holding(committed) == ["queued"]

    with running_workers(1, tmp_path) as workers:
        wait_for(lambda: status(committed) == JobStatus.FINISHED, 30, lambda: workers[0].log())
    assert status(rolled_back) is None
    assert registries_holding(rolled_back) == []
    assert sorted(openid for openid, _ in tenant_rows(tenant_a.db_name)) == ["job-committed", "written-and-committed"]


def test_jobs_of_a_suspended_or_unknown_tenant_fail_with_the_reason_and_touch_no_database(queue_name, tmp_path):
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    tenant_c_row = tenant_suspend(app_id=TENANT_C)
    # A forged context that would run on tenant A's database if a worker trusted it instead of the registry.
    unknown = TenantContext(app_id="wx00000000000000ee", db_name=tenant_a.db_name, server=tenant_a.server)
    with activate_tenant(tenant_context_for(tenant_c_row)):
        suspended_job = enqueue(record_database, "suspended")
    with activate_tenant(unknown):
        unknown_job = enqueue(record_database, "unknown")
    with activate_tenant(tenant_a):
        fine_job = enqueue(record_database, "fine")

    with running_workers(1, tmp_path) as workers:
        wait_for(lambda: ended_count() == 3, 30, lambda: workers[0].log())
        assert [status(job_id) for job_id in (suspended_job, unknown_job, fine_job)] == [
            JobStatus.FAILED,
            JobStatus.FAILED,
            JobStatus.FINISHED,
        ]
        suspended, forged = fetch(suspended_job), fetch(unknown_job)
        assert suspended.meta["app_id"] == TENANT_C
        assert suspended.meta["failure"]["code"] == "tenant_suspended"
        assert forged.meta["app_id"] == "wx00000000000000ee"
        assert forged.meta["failure"]["code"] == "tenant_not_found"
        assert suspended.retries_left == forged.retries_left == 3  # refused for good, not retried
        assert [openid for openid, _ in tenant_rows(tenant_a.db_name)] == ["job-fine"]
        assert tenant_rows(tenant_c_row.db_name) == []

        listed = run_manage("failed_jobs", env=subprocess_env(JOBS_QUEUE=queue_name))
        assert listed.returncode == 0, listed.stderr
        assert f"{TENANT_C}: 1 failed" in listed.stdout
        assert f"{suspended_job}" in listed.stdout and "tenant_suspended: " in listed.stdout
        assert "wx00000000000000ee: 1 failed" in listed.stdout
        assert "2 failed job(s)" in listed.stdout

        # Once the tenant is back, the operator requeues its jobs and they run where they belong.
        tenant_resume(app_id=TENANT_C)
        requeued = run_manage(
            "failed_jobs", "--requeue", "--tenant", TENANT_C, env=subprocess_env(JOBS_QUEUE=queue_name)
        )
        assert requeued.returncode == 0, requeued.stderr
        assert f"requeued {suspended_job} ({TENANT_C})" in requeued.stdout
        wait_for(lambda: status(suspended_job) == JobStatus.FINISHED, 30, lambda: workers[0].log())
    assert [openid for openid, _ in tenant_rows(tenant_c_row.db_name)] == ["job-suspended"]
    assert status(unknown_job) == JobStatus.FAILED


def test_temporary_errors_are_retried_with_back_off_and_a_bug_is_not(queue_name, tmp_path):
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant_a):
        flaky = enqueue(fail_until, "flaky", 2)
        bug = enqueue(fail_for_good, "bug")

    with running_workers(1, tmp_path) as workers:
        wait_for(lambda: ended_count() == 2, 60, lambda: workers[0].log())
    attempts = Counter(openid.rsplit("-", 1)[0] for openid, _ in tenant_rows(tenant_a.db_name) if "attempt" in openid)
    assert attempts == {"attempt-flaky": 3, "attempt-bug": 1}
    assert status(flaky) == JobStatus.FINISHED
    assert (fetch(flaky).return_value() or {}).get("database") == tenant_a.db_name
    assert status(bug) == JobStatus.FAILED
    failure = fetch(bug).meta["failure"]
    assert failure["code"] == "job_error" and failure["retryable"] is False
    assert failure["message"] == "the job raised ValueError"  # not the exception's text


def test_kill_9_of_the_work_horse_mid_job_retries_the_job_at_once(queue_name, tmp_path):
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant_a):
        job_id = enqueue(sleep_then_record, "horse-killed", 2)

    with running_workers(1, tmp_path) as (worker,):
        wait_for(lambda: status(job_id) == JobStatus.STARTED and worker.horse_pid() is not None, 30, worker.log)
        horse_pid = worker.horse_pid()
        assert horse_pid is not None
        os.kill(horse_pid, signal.SIGKILL)
        requeued_after = watch_until(job_id, lambda: failure_code(job_id) == "worker_died", 30)
        finished_after = watch_until(job_id, lambda: status(job_id) == JobStatus.FINISHED, 30) + requeued_after
    print(f"kill -9 of the work horse: job running again after {requeued_after:.2f}s, done {finished_after:.2f}s")
    job = fetch(job_id)
    assert job.meta["app_id"] == TENANT_A
    assert job.meta["failure"]["code"] == "worker_died"
    assert [openid for openid, _ in tenant_rows(tenant_a.db_name)] == ["job-horse-killed"]


def test_kill_9_of_a_whole_worker_mid_job_leaves_the_job_to_another_worker(queue_name, tmp_path):
    """The worker and its work horse die together (OOM killer, lost host): nothing reports the job's end."""
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant_a):
        job_id = enqueue(sleep_then_record, "worker-killed", 2)

    with running_workers(2, tmp_path, **FAST_RECOVERY_ENV) as workers:
        wait_for(lambda: status(job_id) == JobStatus.STARTED, 30, lambda: workers[0].log())
        victim = next(worker for worker in workers if worker.name == fetch(job_id).worker_name)
        wait_for(lambda: victim.horse_pid() is not None, 10)
        victim.remember_family()
        for pid in [victim.pid, *victim.family]:
            os.kill(pid, signal.SIGKILL)
        recovered_after = watch_until(job_id, lambda: failure_code(job_id) == "abandoned", 60)
        finished_after = watch_until(job_id, lambda: status(job_id) == JobStatus.FINISHED, 60) + recovered_after
    bound = sum(int(seconds) for seconds in FAST_RECOVERY_ENV.values())
    print(f"kill -9 of a worker and its horse: retried after {recovered_after:.2f}s (bound {bound}s)", end=", ")
    print(f"done after {finished_after:.2f}s")
    job = fetch(job_id)
    assert job.worker_name != victim.name
    assert job.meta["app_id"] == TENANT_A
    assert job.meta["failure"]["code"] == "abandoned"
    assert recovered_after < bound + 10  # rq's own intervals would take 90 s to 11 minutes
    assert [openid for openid, _ in tenant_rows(tenant_a.db_name)] == ["job-worker-killed"]


def test_a_worker_stopped_with_term_finishes_its_current_job_first_and_takes_no_other(queue_name, tmp_path):
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(tenant_a):
        current = enqueue(sleep_then_record, "current", 2)
        waiting = enqueue(record_database, "waiting")

    with running_workers(1, tmp_path) as (worker,):
        wait_for(lambda: status(current) == JobStatus.STARTED, 30, worker.log)
        worker.process.terminate()
        exit_code = worker.process.wait(timeout=30)
        assert exit_code == 0, worker.log()
        assert status(current) == JobStatus.FINISHED
        assert status(waiting) == JobStatus.QUEUED
    assert [openid for openid, _ in tenant_rows(tenant_a.db_name)] == ["job-current"]


def failure_code(job_id: str) -> str | None:
    return fetch(job_id).meta.get("failure", {}).get("code")


def watch_until(job_id: str, condition, seconds: float) -> float:  # noqa: ANN001
    """wait_for, checking on every poll that the job is in the queue or one of its registries."""

    def present_and_done() -> bool:
        places = registries_holding(job_id)
        assert places, f"job {job_id} is in no queue and no registry"
        return condition()

    return wait_for(present_and_done, seconds, f"job {job_id} never got there: {status(job_id)}")
