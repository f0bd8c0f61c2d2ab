"""drop_tenant when rq's execution records of a tenant's job are stale (after a Redis failover, or a dead worker).

rq keeps, per job, a sorted set of its executions (`rq:executions:<job id>`) and a hash per execution
(`rq:execution:<job id>:<execution id>`). The hash expires with the worker's heartbeat, the set about a minute
later, and a failover can lose the one without the other. rq's Job.delete() fetches every execution the set
names and raises ValueError for a hash that is gone; the purge of a dropped tenant's jobs used to stop there,
leaving the tenant suspended, its database in place. The stale entries are made here directly in Redis.
"""

import logging
import time
from io import StringIO

import pytest
from django.core.management import call_command
from rq.executions import Execution, ExecutionRegistry

from core.tenant_context import activate_tenant
from tenants.jobs import TenantJob, enqueue, get_connection
from tenants.jobs.index import index_key
from tenants.jobs.purge import executions_stale_forget
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import tenant_databases_on_server
from tests.job_functions import record_database

pytestmark = pytest.mark.usefixtures("tenant_db")
APP_ID = "wx00000000000000f7"


@pytest.fixture(autouse=True)
def own_queue(queue_name: str) -> str:
    return queue_name


def _tenant_with_a_job() -> tuple[Tenant, str]:
    call_command("create_tenant", APP_ID, "--name", "Stale executions", stdout=StringIO())
    tenant = Tenant.objects.get(app_id=APP_ID)
    with activate_tenant(tenant_context_for(tenant)):
        job_id = enqueue(record_database, "stale")  # autocommit: on the queue at once
    return tenant, job_id


def _stale_execution(job_id: str) -> str:
    """An execution the job's registry names whose own record is gone (as its expiry or a failover leaves it)."""
    registry = ExecutionRegistry(job_id=job_id, connection=get_connection())
    get_connection().zadd(registry.key, {"0123456789abcdef": time.time() + 600})
    return registry.key


def test_rq_itself_cannot_delete_a_job_with_a_stale_execution():
    """The failure the purge works around: if rq fixes it, this test says so."""
    _, job_id = _tenant_with_a_job()
    _stale_execution(job_id)
    with pytest.raises(ValueError, match="not found in Redis"):
        TenantJob.fetch(job_id, connection=get_connection()).delete()


def test_drop_tenant_with_a_stale_execution_finishes_and_says_what_it_cleared(caplog):
    tenant, job_id = _tenant_with_a_job()
    registry_key = _stale_execution(job_id)
    out = StringIO()
    with caplog.at_level(logging.WARNING, logger="tenants.jobs.purge"):
        call_command("drop_tenant", APP_ID, "--yes", stdout=out)
    assert out.getvalue().strip() == f"{APP_ID}: dropped"
    assert f"{APP_ID}: 1 stale rq execution record(s) cleared" in caplog.text
    assert tenant.db_name not in tenant_databases_on_server()
    assert not Tenant.objects.filter(app_id=APP_ID).exists()
    redis = get_connection()
    assert redis.exists(TenantJob.key_for(job_id), registry_key, index_key(APP_ID)) == 0


def test_only_the_executions_whose_record_is_gone_are_forgotten():
    _, job_id = _tenant_with_a_job()
    redis = get_connection()
    live = Execution(id="fedcba9876543210", job_id=job_id, connection=redis)
    with redis.pipeline() as pipeline:
        live.save(ttl=600, pipeline=pipeline)
        pipeline.execute()
    registry_key = _stale_execution(job_id)
    redis.zadd(registry_key, {live.id: time.time() + 600})

    job = TenantJob.fetch(job_id, connection=redis)
    assert executions_stale_forget(job) == 1
    assert [execution.id for execution in job.get_executions()] == [live.id]
    assert executions_stale_forget(job) == 0
    redis.delete(live.key)
