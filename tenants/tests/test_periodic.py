"""Periodic platform jobs: once per period for the whole fleet, skipped (not lost or doubled) with Redis down."""

from collections.abc import Iterator
from unittest import mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tenants.jobs import get_queue, periodic
from tenants.jobs.periodic import periodic_enqueue_due, register_periodic
from tests.workers import fetch

pytestmark = pytest.mark.usefixtures("tenant_db")


@pytest.fixture(autouse=True)
def only_this_tests_jobs(queue_name: str) -> Iterator[None]:
    with mock.patch.dict(periodic._registered, clear=True):
        yield


def test_each_period_enqueues_one_platform_job_however_many_processes_pass():
    register_periodic(name="test-every-minute", every_seconds=60, func="tests.job_functions.platform_job")
    first = periodic_enqueue_due()
    again = [periodic_enqueue_due() for _ in range(5)]  # the other hosts' relays, in the same period
    assert first == ["test-every-minute"]
    assert again == [[]] * 5
    (job_id,) = get_queue().job_ids
    job = fetch(job_id)
    # sentry-sdk's RQ integration adds its trace headers to the meta when a client is set up (an earlier test's).
    ours = {key: value for key, value in job.meta.items() if not key.startswith("_sentry")}
    assert ours == {"app_id": None, "platform": True}
    assert job.perform() == {"tenant": None}


def test_a_name_registered_twice_with_another_job_is_refused():
    register_periodic(name="test-twice", every_seconds=60, func="tests.job_functions.platform_job")
    register_periodic(name="test-twice", every_seconds=60, func="tests.job_functions.platform_job")  # same: fine
    with pytest.raises(ValueError, match="registered twice"):
        register_periodic(name="test-twice", every_seconds=30, func="tests.job_functions.platform_job")


def test_with_redis_down_nothing_is_enqueued_and_the_next_pass_runs_it():
    register_periodic(name="test-redis-down", every_seconds=60, func="tests.job_functions.platform_job")
    with mock.patch("tenants.jobs.periodic.get_connection", side_effect=RedisConnectionError("down")):
        assert periodic_enqueue_due() == []
    assert len(get_queue()) == 0
    assert periodic_enqueue_due() == ["test-redis-down"]
    assert len(get_queue()) == 1


@pytest.mark.parametrize("enabled", [True, False])
def test_the_workers_relay_pass_enqueues_the_periodic_jobs_only_when_enabled(settings, enabled):
    from tenants.jobs.relay import outbox_relay_in_maintenance

    settings.PERIODIC_JOBS_ENABLED = enabled
    register_periodic(name="test-relayed", every_seconds=60, func="tests.job_functions.platform_job")
    outbox_relay_in_maintenance()
    assert len(get_queue()) == (1 if enabled else 0)
