"""A worker's log lines name their job's tenant and never its users' content (a nickname, a message's text)."""

import pytest

from core.tenant_context import activate_tenant
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A
from tests.job_functions import record_database
from tests.workers import fetch, running_workers, status, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tenant_db")]
PRIVATE = "nick-小明-private"


def test_a_jobs_lines_carry_its_app_id_and_not_its_arguments(queue_name, tmp_path):
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        job_id = enqueue(record_database, PRIVATE)
    with running_workers(1, tmp_path) as workers:
        wait_for(lambda: status(job_id) == "finished", 30, lambda: workers[0].log())
        log = workers[0].log()
    assert fetch(job_id).description == "tests.job_functions.record_database(...)"
    assert PRIVATE not in log
    lines = [line for line in log.splitlines() if job_id in line]
    taken = [line for line in lines if f"{queue_name}: {job_id}" in line]  # rq's, before the tenant is known
    assert len(taken) == 1 and "record_database" not in taken[0]
    rest = [line for line in lines if line not in taken]
    assert len(rest) >= 3  # ours (the function's name), "Successfully completed", "Job OK"
    assert all(f"app_id={TENANT_A} " in line for line in rest), rest
    assert any("tests.job_functions.record_database(...)" in line for line in rest)
