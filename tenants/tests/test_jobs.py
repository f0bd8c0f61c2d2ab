"""tenants.jobs without worker processes: when a job is enqueued, what it carries, how failures are judged."""

import json
from collections.abc import Iterator
from unittest import mock

import pytest
import sentry_sdk
from django.core.management import CommandError, call_command
from django.db import OperationalError, connections, transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.worker import Worker

from core.tenant_context import TenantNotActive, activate_tenant
from tenants import cache as registry_cache
from tenants.jobs import (
    JobNotFound,
    JobTenantRefused,
    TenantJob,
    enqueue,
    failed_jobs_list,
    get_connection,
    get_queue,
    job_state_get,
    jobs_purge_for_tenant,
    tenant_job_counts,
)
from tenants.jobs.failures import ABANDONED, failure_record, is_temporary
from tenants.jobs.index import index_key
from tenants.models import Tenant
from tenants.selectors import tenant_context_for, tenant_entry_get, tenant_resolve
from tenants.services import tenant_resume, tenant_suspend
from tenants.worker import TenantWorker
from tests.e2e.sentry_stub import SentryStub, sentry_in_this_process
from tests.helpers import TENANT_A, TENANT_B, TENANT_C
from tests.job_functions import fail_for_good, platform_job, record_database
from tests.workers import fetch, registries_holding
from wechat import WeChatBusy, WeChatSubscribeRefused, WeChatUnavailable

pytestmark = pytest.mark.usefixtures("tenant_db")


@pytest.fixture(autouse=True)
def own_queue(queue_name: str) -> str:
    """Every test here enqueues on a queue of its own (the root conftest's queue_name)."""
    return queue_name


@pytest.fixture
def tenant_a():  # noqa: ANN201
    return tenant_context_for(Tenant.objects.get(app_id=TENANT_A))


def test_enqueueing_with_no_active_tenant_is_an_error():
    with pytest.raises(TenantNotActive):
        enqueue(record_database, "nobody")
    assert len(get_queue()) == 0


def test_a_tenant_job_carries_its_app_id_and_waits_for_the_tenant_database_commit(tenant_a):
    with activate_tenant(tenant_a), transaction.atomic(using=tenant_a.db_alias):
        job_id = enqueue(record_database, "one")
        assert registries_holding(job_id) == []
    assert registries_holding(job_id) == ["queued"]
    job = fetch(job_id)
    assert job.meta == {"app_id": TENANT_A}
    assert (job.retries_left, job.retry_intervals) == (3, [1])  # JOBS_RETRY_MAX and _INTERVALS of this test
    assert job.args == ["one"]  # JSON: the job's call is data, so a tuple comes back a list


def test_only_the_tenant_database_transaction_holds_a_tenant_job_back(tenant_a):
    with activate_tenant(tenant_a), transaction.atomic(using="default"):
        job_id = enqueue(record_database, "control-transaction")
        assert registries_holding(job_id) == ["queued"]  # nothing of the tenant's is uncommitted


def test_a_platform_job_runs_with_no_tenant_and_waits_for_the_control_database(tenant_a):
    with activate_tenant(tenant_a), transaction.atomic(using="default"):
        job_id = enqueue(platform_job, platform=True)
        assert registries_holding(job_id) == []
    job = fetch(job_id)
    assert job.meta == {"app_id": None, "platform": True}
    assert job.perform() == {"tenant": None}


def test_a_job_runs_in_its_tenant_and_a_suspended_tenant_job_is_refused_with_its_reason(tenant_a):
    with activate_tenant(tenant_a):
        job_id = enqueue(record_database, "in-process")
    assert fetch(job_id).perform() == {"app_id": TENANT_A, "database": tenant_a.db_name, "marker": "in-process"}

    tenant_c = tenant_context_for(tenant_suspend(app_id=TENANT_C))
    with activate_tenant(tenant_c):
        refused_id = enqueue(record_database, "refused")
    refused = fetch(refused_id)
    with pytest.raises(JobTenantRefused):
        refused.perform()
    failure = fetch(refused_id).meta["failure"]
    assert (failure["code"], failure["retryable"]) == ("tenant_suspended", False)
    assert not refused.should_retry


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (WeChatBusy(-1, "system busy"), True),
        (WeChatUnavailable("/wxa/msg_sec_check: no answer within 5.0s"), True),
        (WeChatSubscribeRefused(43101, "user refuse to accept the msg"), False),
        (OperationalError(2006, "MySQL server has gone away"), True),
        (RedisConnectionError("Connection refused"), True),
        (JobTenantRefused("tenant_suspended", "suspended"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_temporary_errors_are_retried(error, temporary):
    assert is_temporary(error) is temporary


def test_a_failure_record_names_wechat_errcodes_and_hides_the_text_of_bugs():
    refused = failure_record(WeChatSubscribeRefused(43101, "user refuse to accept the msg"), retryable=False)
    assert (refused["code"], refused["errcode"]) == ("wechat_error", 43101)
    assert "43101" in refused["message"]
    bug = failure_record(KeyError("secret-internal-name"), retryable=False)
    assert bug["code"] == "job_error"
    assert "secret-internal-name" not in bug["message"]


def test_a_job_whose_worker_died_is_retried_at_once_and_a_permanent_failure_not_at_all(tenant_a):
    with activate_tenant(tenant_a):
        job = fetch(enqueue(record_database, "crash"))
    assert job.should_retry and job.get_retry_interval() == 1
    job.record_crash(ABANDONED, "worker lost")
    assert job.should_retry and job.get_retry_interval() == 0
    job.record_failure(failure_record(ValueError(), retryable=False), retryable=False)
    assert not job.should_retry
    assert isinstance(job, TenantJob)


def test_a_jobs_state_is_read_for_its_own_tenant_only(tenant_a):
    """GET /api/v1/jobs/<id> narrows this to the job's own user (accounts/tests/test_job_visibility.py)."""
    with activate_tenant(tenant_a):
        job_id = enqueue(record_database, "api")
        state = job_state_get(job_id=job_id)
    platform_id = enqueue(platform_job, platform=True)
    assert (state.id, state.status, state.result, state.error) == (job_id, "queued", None, None)
    assert state.enqueued_at is not None

    tenant_b = tenant_context_for(Tenant.objects.get(app_id=TENANT_B))
    for tenant, other_id in [(tenant_b, job_id), (tenant_a, platform_id), (tenant_a, "0" * 32)]:
        with activate_tenant(tenant), pytest.raises(JobNotFound):
            job_state_get(job_id=other_id)
    assert fetch(job_id).get_status() == JobStatus.QUEUED


def test_failed_jobs_refuses_an_ambiguous_requeue():
    with pytest.raises(CommandError, match="exactly one of"):
        call_command("failed_jobs", "--requeue")
    with pytest.raises(CommandError, match="go with --requeue"):
        call_command("failed_jobs", "--all")
    with pytest.raises(CommandError, match="job_not_found"):
        call_command("failed_jobs", "--requeue", "f" * 32)


def test_the_worker_finds_a_jobs_tenant_before_forking_and_keeps_no_connection_for_the_horse(tenant_a):
    """The horse inherits its job's tenant with the job instead of asking Redis on a new connection per job."""
    with activate_tenant(tenant_a):
        job_id = enqueue(record_database, "warm")
    registry_cache.clear_local()
    connections.close_all()
    job = fetch(job_id)
    with mock.patch.object(Worker, "fork_work_horse") as rq_fork:
        TenantWorker([get_queue()], connection=get_queue().connection).fork_work_horse(job, get_queue())
    rq_fork.assert_called_once()
    assert registry_cache.local_get(TENANT_B) == (False, None)  # only the job's own tenant
    assert all(connections[alias].connection is None for alias in connections)
    # The horse (here: this process, after the mocked fork) asks nobody again, and activates nothing twice.
    with (
        mock.patch("tenants.jobs.job.tenant_resolve", side_effect=AssertionError("looked up again")),
        activate_tenant(tenant_a),
        mock.patch("tenants.jobs.job.activate_tenant", side_effect=AssertionError("activated again")),
    ):
        assert job.tenant() == tenant_a
        assert job.perform() == {"app_id": TENANT_A, "database": tenant_a.db_name, "marker": "warm"}


def test_a_refusal_is_looked_up_once_before_the_fork_and_fails_the_job_in_the_horse():
    tenant_c = tenant_context_for(tenant_suspend(app_id=TENANT_C))
    with activate_tenant(tenant_c):
        job = fetch(enqueue(record_database, "refused-once"))
    with mock.patch("tenants.jobs.job.tenant_resolve", wraps=tenant_resolve) as lookups:
        with mock.patch.object(Worker, "fork_work_horse"):
            TenantWorker([get_queue()], connection=get_queue().connection).fork_work_horse(job, get_queue())
        calls = lookups.call_count  # the process's copy, then the registry's own word
        with pytest.raises(JobTenantRefused, match="suspended"):
            job.perform()
        assert lookups.call_count == calls
    assert fetch(job.id).meta["failure"]["code"] == "tenant_suspended"


@pytest.fixture
def sentry() -> Iterator[SentryStub]:
    with sentry_in_this_process() as stub:
        yield stub


def test_a_permanent_failure_with_retries_left_reaches_sentry_through_the_tenant_worker(tenant_a, sentry):
    """rq's Sentry integration reports a failure only with no retries left; TenantJob fails a bug at once."""
    with activate_tenant(tenant_a):
        job_id = enqueue(fail_for_good, "sentry")
    for worker_class, reported in ((Worker, 0), (TenantWorker, 1)):
        job = fetch(job_id)
        with pytest.raises(ValueError) as failure:
            job.perform()
        job.set_status(JobStatus.FAILED)  # as rq's handle_job_failure leaves it: no retry for a bug
        assert job.retries_left == 3 and not job.should_retry
        worker = worker_class([get_queue()], connection=get_queue().connection)
        worker.handle_exception(job, failure.type, failure.value, failure.tb)
        sentry_sdk.get_client().flush(timeout=5)
        events = [event for event in sentry.snapshot() if "a bug in the job" in json.dumps(event)]
        # rq's own Worker is left as rq made it: core patches nothing of rq's any more.
        assert len(events) == reported, worker_class


def test_a_job_refused_by_this_process_copy_of_the_registry_asks_the_registry_itself_first():
    """A requeued job right after a resume runs, though the worker's copy still says "suspended"."""
    tenant_c = tenant_context_for(tenant_suspend(app_id=TENANT_C))
    with activate_tenant(tenant_c):
        job_id = enqueue(record_database, "after-resume")
    stale = tenant_entry_get(app_id=TENANT_C)
    tenant_resume(app_id=TENANT_C)  # as another process would: the registry and Redis change, not our copy
    registry_cache.local_set(TENANT_C, stale, epoch=registry_cache.local_epoch())
    assert registry_cache.local_get(TENANT_C) == (True, stale)
    assert fetch(job_id).perform() == {"app_id": TENANT_C, "database": tenant_c.db_name, "marker": "after-resume"}


def fail(job_id: str) -> None:
    """Moves a queued job to the failed registry, as a worker would after a permanent failure."""
    queue = get_queue()
    job = fetch(job_id)
    queue.remove(job)
    job.set_status(JobStatus.FAILED)
    FailedJobRegistry(queue=queue, job_class=TenantJob).add(job, exc_string="failed by the test")


def test_one_tenants_jobs_are_read_from_its_index_without_reading_another_tenants(tenant_a):
    tenant_b = tenant_context_for(Tenant.objects.get(app_id=TENANT_B))
    with activate_tenant(tenant_a):
        own = [enqueue(record_database, f"a-{n}") for n in range(3)]
    with activate_tenant(tenant_b):
        others = [enqueue(record_database, f"b-{n}") for n in range(20)]
    fail(own[0])
    for job_id in others[:10]:
        fail(job_id)
    fetch(own[2]).delete()  # gone from rq (as an expired job is): its id is pruned from the index on reading

    read: list[str] = []
    real_fetch_many = TenantJob.fetch_many

    def spying(job_ids, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        read.extend(job_ids)
        return real_fetch_many(job_ids, *args, **kwargs)

    with mock.patch.object(TenantJob, "fetch_many", side_effect=spying):
        assert [job.id for job in failed_jobs_list(app_id=TENANT_A)] == [own[0]]
        assert tenant_job_counts(app_id=TENANT_A) == (1, 1)
        assert set(read) <= set(own)  # not one of TENANT_B's jobs was read
        assert get_connection().zrange(index_key(TENANT_A), 0, -1) == [own[0].encode(), own[1].encode()]
        read.clear()
        assert jobs_purge_for_tenant(app_id=TENANT_A) == 2
        assert set(read) <= set(own)
    assert get_connection().exists(index_key(TENANT_A)) == 0
    assert registries_holding(own[0]) == registries_holding(own[1]) == []
    assert tenant_job_counts(app_id=TENANT_B) == (10, 10)  # TENANT_B's jobs are all still there
    assert len(failed_jobs_list(app_id=TENANT_B)) == 10
