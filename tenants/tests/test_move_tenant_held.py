"""What arrives for a tenant frozen for its move: its jobs wait (the worker hands them to rq's scheduler) and
its WeChat pushes are answered "success", held in the control database and recorded after the switch."""

from collections.abc import Iterator

import pytest
from rq.registry import ScheduledJobRegistry

from core.tenant_context import activate_tenant
from pushes.models import PushRecord
from pushes.tests.conftest import push_tenant, pushes_db  # noqa: F401 - fixtures of the push tests
from pushes.tests.test_receiver import text_message
from tenants.jobs import enqueue
from tenants.models import MoveHeldItem, Tenant
from tenants.moving.held import move_held_count, move_held_replay
from tenants.moving.jobs import job_delay_if_frozen
from tenants.moving.services import _set_move
from tenants.selectors import tenant_context_for
from tenants.services import tenant_provision
from tenants.worker import TenantWorker
from tests.workers import jobs_queue

APP_ID = "wx00000000000000e2"


@pytest.fixture
def frozen_tenant(tenant_db: None, queue_name: str) -> Iterator[Tenant]:
    """A tenant of our own, frozen as in a move's final step (its database stays where it is)."""
    tenant = tenant_provision(app_id=APP_ID, name="Frozen")
    _set_move(tenant, move_state=Tenant.MoveState.FROZEN, move_from="main", move_to="main")
    yield tenant
    MoveHeldItem.objects.filter(app_id=APP_ID).delete()


def test_a_frozen_tenants_job_is_scheduled_for_later_by_the_worker_and_not_run(frozen_tenant: Tenant) -> None:
    with activate_tenant(tenant_context_for(frozen_tenant)):
        job_id = enqueue("tests.job_functions.record_database", "frozen")
    queue = jobs_queue()
    dequeued = queue.dequeue_any([queue], None, connection=queue.connection, job_class=queue.job_class)
    assert dequeued is not None
    job = dequeued[0]
    assert job.id == job_id

    TenantWorker([queue], connection=queue.connection).execute_job(job, queue)  # returns before any fork

    assert job_id in ScheduledJobRegistry(queue=queue).get_job_ids()
    assert job_id not in queue.job_ids
    assert queue.connection.lrange(queue.intermediate_queue_key, 0, -1) == []
    with activate_tenant(tenant_context_for(frozen_tenant)):
        from accounts.models import MiniProgramUser

        assert not MiniProgramUser.objects.filter(openid="job-frozen").exists()

    _set_move(frozen_tenant, move_state=Tenant.MoveState.SWITCHED)
    assert not job_delay_if_frozen(job, queue)  # once switched, the job runs as any other


def test_a_push_during_the_freeze_is_answered_success_held_and_recorded_once_after_the_switch(
    frozen_tenant: Tenant,
    push_tenant,  # noqa: ANN001, F811
) -> None:
    pusher = push_tenant(APP_ID)
    message = text_message("sent during the freeze")

    first, again = pusher.push(message), pusher.push(message)  # WeChat's retry of the same push

    assert (first.status_code, first.content, again.content) == (200, b"success", b"success")
    assert pusher.records() == []  # nothing written to the frozen database
    assert move_held_count(app_id=APP_ID) == 2

    _set_move(frozen_tenant, move_state=Tenant.MoveState.SWITCHED)
    assert move_held_replay(app_id=APP_ID) == 2

    records = pusher.records()
    assert [record.message["Content"] for record in records] == ["sent during the freeze"]  # one record, no loss
    assert records[0].outcome == PushRecord.Outcome.PENDING
    assert move_held_count(app_id=APP_ID) == 0


def test_a_push_held_after_the_switch_came_is_recorded_at_once(frozen_tenant: Tenant, push_tenant) -> None:  # noqa: ANN001, F811
    from tenants.moving.held import move_hold

    pusher = push_tenant(APP_ID)
    # The receiver read the frozen entry, then the switch committed before it held the push.
    _set_move(frozen_tenant, move_state=Tenant.MoveState.SWITCHED)
    move_hold(app_id=APP_ID, kind="push", payload=text_message("late", msg_id="7000000000000000002"))

    assert [record.message["Content"] for record in pusher.records()] == ["late"]
    assert move_held_count(app_id=APP_ID) == 0
