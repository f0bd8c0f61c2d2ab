"""Real `manage.py rqworker` processes on the real Redis: each job runs in its own tenant's database, or not at all."""

import time
from collections import Counter

import pytest

from core.tenant_context import activate_tenant
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tenants.services import tenant_provision
from tests.helpers import SESSION_TENANTS, mysql_rows
from tests.job_functions import record_database
from tests.workers import ended_count, fetch, jobs_queue, running_workers, status, use_test_queue, wait_for

pytestmark = pytest.mark.usefixtures("tenant_db")

EXTRA_TENANTS = [f"wx{0xD0 + index:016x}" for index in range(7)]
JOBS_PER_TENANT = 100


@pytest.fixture
def queue_name(settings) -> str:  # noqa: ANN001
    return use_test_queue(settings)


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

    statuses = Counter(status(job_id).value for job_id in job_tenant)
    assert statuses == {"finished": 1000}
    for job_id, tenant in job_tenant.items():
        job = fetch(job_id)
        assert job.meta["app_id"] == tenant.app_id
        assert job.return_value() == {"app_id": tenant.app_id, "database": tenant.db_name, "marker": job.args[0]}
    for tenant in tenants:
        rows = tenant_rows(tenant.db_name)
        assert len(rows) == JOBS_PER_TENANT
        assert {nickname for _, nickname in rows} == {tenant.db_name}
        assert all(openid.startswith(f"job-{tenant.app_id}-") for openid, _ in rows)
