"""The jobs' outbox on the real MariaDB and Redis: a job enqueued while Redis is down at commit is kept with its
data and relayed once Redis is back, exactly once, in its own tenant; the relay reads only marked tenants.

"Redis is down" is the queue's connection pointed at a closed port: the commit's push fails as it does when
the server is stopped (connection refused), while the rest of the test session keeps its Redis.
"""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from rq.job import JobStatus

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from core.tenant_context import TenantContext, activate_tenant, get_current_tenant
from tenants.jobs import JobNotFound, enqueue, get_queue, job_state_get, platform_job_state_get
from tenants.jobs.outbox import push
from tenants.jobs.relay import outbox_relay
from tenants.models import Tenant
from tenants.outbox.control.models import PendingOutbox, PlatformOutboxJob
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for
from tests.helpers import (
    BASE_DIR,
    PYTHON,
    SESSION_TENANTS,
    TENANT_A,
    TENANT_B,
    TENANT_C,
    free_port,
    log_queries,
    subprocess_env,
)
from tests.job_functions import platform_job, record_database
from tests.workers import (
    FAST_RECOVERY_ENV,
    ended_count,
    fetch,
    registries_holding,
    running_workers,
    status,
    wait_for,
)
from wechat.fake_server import FakeWeChatServer, fake_openid

pytestmark = pytest.mark.usefixtures("tenant_db")

MSG_SEC_CHECK = "/wxa/msg_sec_check"


def context(app_id: str) -> TenantContext:
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


@pytest.fixture(autouse=True)
def empty_outboxes(tenant_db: None, queue_name: str) -> Iterator[None]:
    """Every test on a queue of its own, with empty outboxes and no mark (other tests leave the records of jobs
    pushed at their commit, for a sweep that is not run between tests)."""
    _empty_outboxes()
    yield
    _empty_outboxes()


def _empty_outboxes() -> None:
    for app_id in SESSION_TENANTS:
        with activate_tenant(context(app_id)):
            OutboxJob.objects.all().delete()
    PlatformOutboxJob.objects.all().delete()
    PendingOutbox.objects.all().delete()


@contextmanager
def redis_down(settings_fixture) -> Iterator[None]:  # noqa: ANN001
    """The jobs queue's Redis refuses connections (a closed port) inside the block, and is back after it."""
    name = settings.JOBS_QUEUE
    real = settings.RQ_QUEUES
    settings_fixture.RQ_QUEUES = {name: {**real[name], "URL": f"redis://127.0.0.1:{free_port()}/0"}}
    try:
        yield
    finally:
        settings_fixture.RQ_QUEUES = real


def outbox(app_id: str) -> list[OutboxJob]:
    with activate_tenant(context(app_id)):
        return list(OutboxJob.objects.all())


def marked() -> set[str]:
    return set(PendingOutbox.objects.values_list("app_id", flat=True))


def queued_ids() -> list[str]:
    """The queue's job ids in order, duplicates included (a job pushed twice would show twice)."""
    return get_queue().get_job_ids()


def test_with_redis_up_a_job_costs_one_insert_in_its_transaction_and_nothing_in_autocommit():
    tenant_a = context(TENANT_A)
    with activate_tenant(tenant_a):
        OutboxJob.objects.exists()  # the connection's own set-up queries are not the job's
        with log_queries([tenant_a.db_alias]) as log:
            pushed_at_once = enqueue(record_database, "autocommit")
        assert log.for_alias(tenant_a.db_alias) == []  # no transaction to share: pushed, nothing recorded
        assert registries_holding(pushed_at_once) == ["queued"]
        with log_queries([tenant_a.db_alias]) as log:
            with transaction.atomic(using=tenant_a.db_alias):
                job_id = enqueue(record_database, "in-a-transaction")
            assert registries_holding(job_id) == ["queued"]
    statements = [sql.split()[0] for sql in log.for_alias(tenant_a.db_alias)]
    assert statements == ["INSERT"]  # in the caller's commit: no statement, and no commit, of its own
    assert [record.id for record in outbox(TENANT_A)] == [job_id]
    assert marked() == set()
    # The sweep deletes the records of jobs pushed at their commit, and pushes none of them again.
    report = outbox_relay(sweep=True)
    assert (report.pushed, report.already_queued) == (0, 1)
    assert outbox(TENANT_A) == []
    assert queued_ids() == [pushed_at_once, job_id]


def test_a_nickname_saved_while_redis_is_down_answers_200_and_keeps_its_check_in_the_outbox(wechat, settings):
    user = TenantClient(TENANT_A)
    assert user.login("code-dora").status_code == 200
    with redis_down(settings):
        response = user.patch("/api/v1/me", {"nickname": "朵拉 🌼"})
        assert response.status_code == 200, response.content
    assert response.json()["nickname"] == "朵拉 🌼"
    with activate_tenant(context(TENANT_A)):
        assert MiniProgramUser.objects.get(openid=fake_openid(TENANT_A, "code-dora")).nickname == "朵拉 🌼"
    [record] = outbox(TENANT_A)
    assert record.func_name == "accounts.moderation.nickname_check"
    assert marked() == {TENANT_A}
    assert status(record.id) is None  # not on the queue: Redis refused it


def test_a_rolled_back_transaction_leaves_no_record_and_no_job(settings):
    tenant_a = context(TENANT_A)

    class Boom(Exception):
        pass

    for down in (False, True):
        with activate_tenant(tenant_a), pytest.raises(Boom), transaction.atomic(using=tenant_a.db_alias):
            if down:
                with redis_down(settings):
                    job_id = enqueue(record_database, "rolled-back")
            else:
                job_id = enqueue(record_database, "rolled-back")
            assert len(outbox(TENANT_A)) == 1  # inside the transaction, its record is there
            raise Boom
        assert outbox(TENANT_A) == []
        assert status(job_id) is None
    assert queued_ids() == []
    assert marked() == set()


def test_the_relay_reads_only_the_outboxes_of_marked_tenants_and_pushes_each_job_once(settings):
    with redis_down(settings):
        for app_id in (TENANT_A, TENANT_B):
            with activate_tenant(context(app_id)):
                enqueue(record_database, f"down-{app_id}")
    assert marked() == {TENANT_A, TENANT_B}
    # TENANT_C has a record too, but no mark (as if the control database had been down as well).
    with redis_down(settings), activate_tenant(context(TENANT_C)):
        enqueue(record_database, "unmarked")
    PendingOutbox.objects.filter(app_id=TENANT_C).delete()

    databases: list[str] = []

    def which_database(execute, sql, params, many, ctx):  # noqa: ANN001, ANN202
        tenant = get_current_tenant()
        databases.append(tenant.db_name if tenant else "?")
        return execute(sql, params, many, ctx)

    with connections[context(TENANT_A).db_alias].execute_wrapper(which_database):
        report = outbox_relay()
    assert set(databases) == {context(TENANT_A).db_name, context(TENANT_B).db_name}
    assert report.tenants == ["platform", TENANT_A, TENANT_B]
    assert (report.pushed, report.already_queued, report.left) == (2, 0, {})
    assert marked() == set()
    assert outbox(TENANT_A) == outbox(TENANT_B) == []
    assert len(outbox(TENANT_C)) == 1

    # Another pass finds nothing to do and touches no tenant database.
    databases.clear()
    with connections[context(TENANT_A).db_alias].execute_wrapper(which_database):
        assert outbox_relay().pushed == 0
    assert databases == []

    # The sweep looks into every tenant's outbox and finds the unmarked record.
    report = outbox_relay(sweep=True)
    assert report.tenants == ["platform", *sorted(SESSION_TENANTS)]
    assert report.pushed == 1
    ids = queued_ids()
    assert len(ids) == len(set(ids)) == 3
    for job_id in ids:
        job = fetch(job_id)
        app_id = job.meta["app_id"]
        assert job.args == ([f"down-{app_id}"] if app_id != TENANT_C else ["unmarked"])
        # Each job runs in its own tenant: its tenant's database, never the one that was relayed before it.
        assert job.perform()["database"] == context(app_id).db_name


def test_a_job_pushed_twice_is_queued_once(settings):
    """Relays on two hosts, or a commit that pushed but could not delete its record: one job on the queue."""
    with redis_down(settings), activate_tenant(context(TENANT_A)):
        job_id = enqueue(record_database, "twice")
    [record] = outbox(TENANT_A)
    assert push(job_id=record.id, func_name=record.func_name, payload=record.payload) is True  # the first push
    report = outbox_relay()
    assert (report.pushed, report.already_queued) == (0, 1)
    assert outbox_relay().already_queued == 0
    assert queued_ids() == [job_id]
    assert outbox(TENANT_A) == []


def test_while_redis_is_still_down_the_relay_keeps_every_record_and_mark(settings):
    with redis_down(settings):
        with activate_tenant(context(TENANT_B)):
            enqueue(record_database, "still-down")
        enqueue(platform_job, platform=True)
        with pytest.raises(SystemExit, match="Redis is unreachable"):
            call_command("relay_outbox", "--once")
    assert len(outbox(TENANT_B)) == 1
    assert PlatformOutboxJob.objects.count() == 1
    assert marked() == {TENANT_B}
    call_command("relay_outbox", "--once")
    assert outbox(TENANT_B) == [] and PlatformOutboxJob.objects.count() == 0
    platform = [fetch(job_id) for job_id in queued_ids() if fetch(job_id).meta.get("platform")]
    assert [job.perform() for job in platform] == [{"tenant": None}]


def test_a_mark_of_a_dropped_tenant_is_forgotten():
    PendingOutbox.objects.create(app_id="wx00000000000000ee")
    assert outbox_relay().tenants == ["platform"]
    assert marked() == set()


@pytest.mark.slow
def test_a_nickname_changed_while_redis_is_down_is_moderated_exactly_once_after_the_relay(
    wechat: FakeWeChatServer, settings, tmp_path
):
    wechat.control.set_words(risky=["坏词"])
    user = TenantClient(TENANT_A)
    assert user.login("code-erin").status_code == 200
    assert user.patch("/api/v1/me", {"nickname": "Erin"}).status_code == 200
    tenant_a = context(TENANT_A)

    def nickname() -> str:
        with activate_tenant(tenant_a):
            return MiniProgramUser.objects.get(openid=fake_openid(TENANT_A, "code-erin")).nickname

    with redis_down(settings):
        assert user.patch("/api/v1/me", {"nickname": "我是坏词"}).status_code == 200
    assert nickname() == "我是坏词"
    [record] = [record for record in outbox(TENANT_A) if "坏词" in record.payload]
    assert outbox_relay().pushed == 1  # Redis is back
    assert outbox_relay().pushed == 0
    with running_workers(1, tmp_path, WECHAT_API_BASE=wechat.base_url) as (worker,):
        wait_for(lambda: ended_count() == 2, 60, worker.log)  # both nicknames' checks
    assert status(record.id) == JobStatus.FINISHED
    result = fetch(record.id).return_value()
    assert result is not None and (result["suggest"], result["rejected"]) == ("risky", True)
    assert nickname() == "Erin"  # the risky nickname was put back, in TENANT_A's database
    assert wechat.control.counters(TENANT_A)[MSG_SEC_CHECK] == 2  # once per nickname: never twice
    assert MSG_SEC_CHECK not in wechat.control.counters(TENANT_B)


@pytest.mark.slow
def test_a_worker_relays_the_outbox_in_its_maintenance_with_no_relay_program(settings, tmp_path):
    with redis_down(settings):
        with activate_tenant(context(TENANT_B)):
            job_id = enqueue(record_database, "by-maintenance")
        platform_id = enqueue(platform_job, platform=True)
    assert marked() == {TENANT_B}
    with running_workers(1, tmp_path, **FAST_RECOVERY_ENV) as (worker,):
        wait_for(lambda: status(job_id) == status(platform_id) == JobStatus.FINISHED, 60, worker.log)
    assert fetch(job_id).return_value() == {
        "app_id": TENANT_B,
        "database": context(TENANT_B).db_name,
        "marker": "by-maintenance",
    }
    assert outbox(TENANT_B) == [] and marked() == set() and PlatformOutboxJob.objects.count() == 0


@pytest.mark.slow
def test_the_relay_program_pushes_what_was_left_and_stops_on_term(settings, tmp_path):
    with redis_down(settings), activate_tenant(context(TENANT_C)):
        job_id = enqueue(record_database, "by-the-program")
    log_path = tmp_path / "relay.log"
    env = subprocess_env(JOBS_QUEUE=settings.JOBS_QUEUE, OUTBOX_RELAY_SECONDS="0.2")
    with log_path.open("w") as log:
        relay = subprocess.Popen(
            [PYTHON, str(BASE_DIR / "manage.py"), "relay_outbox"], env=env, cwd=BASE_DIR, stdout=log, stderr=log
        )
    try:
        wait_for(lambda: registries_holding(job_id) == ["queued"], 60, log_path.read_text)
        wait_for(lambda: marked() == set(), 10, log_path.read_text)
    finally:
        relay.terminate()
        assert relay.wait(timeout=15) is not None
    assert outbox(TENANT_C) == []
    assert fetch(job_id).meta == {"app_id": TENANT_C}


def test_a_job_waiting_in_the_outbox_is_queued_for_its_own_tenant_only(settings):
    tenant_a = context(TENANT_A)
    with redis_down(settings):
        with activate_tenant(tenant_a), transaction.atomic(using=tenant_a.db_alias):
            job_id = enqueue(record_database, "waiting")
        platform_id = enqueue(platform_job, platform=True)
        with activate_tenant(tenant_a):
            # Redis is still down: the outbox answers for the job instead of a 503.
            assert job_state_get(job_id=job_id).status == "queued"
        assert platform_job_state_get(job_id=platform_id).status == "queued"
    with activate_tenant(tenant_a):
        waiting = job_state_get(job_id=job_id)
    assert (waiting.status, waiting.enqueued_at, waiting.result, waiting.error) == ("queued", None, None, None)
    with activate_tenant(context(TENANT_B)), pytest.raises(JobNotFound):
        job_state_get(job_id=job_id)  # another tenant's outbox is another database
    with pytest.raises(JobNotFound):
        platform_job_state_get(job_id=job_id)
    outbox_relay()
    with activate_tenant(tenant_a):
        assert job_state_get(job_id=job_id).enqueued_at is not None  # from rq now
