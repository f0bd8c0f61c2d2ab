"""The per-process connection pool under the tenant backend (routers.backends.pool), on the real MariaDB."""

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connections
from django.db.utils import ProgrammingError

from core.tenant_context import TenantContext, activate_tenant
from routers.backends import pool
from routers.backends.mysql.base import DatabaseWrapper
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import BASE_DIR, PYTHON, TENANT_A, TENANT_B, mysql_rows

pytestmark = pytest.mark.usefixtures("tenant_db")


def tenant(app_id: str) -> TenantContext:
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


@pytest.fixture
def make_wrapper() -> Iterator:
    """New DatabaseWrappers of the tenant server sharing one fresh pool (its own alias), disposed afterwards."""
    alias = f"pooltest_{uuid.uuid4().hex[:8]}"
    wrappers: list[DatabaseWrapper] = []

    def make(**options: float) -> DatabaseWrapper:
        settings_dict = {
            **connections["tenant_main"].settings_dict,
            "CONN_MAX_AGE": 0,
            "POOL": {"size": 1, "timeout": 0.3, **options},
        }
        wrapper = DatabaseWrapper(settings_dict, alias)
        wrappers.append(wrapper)
        return wrapper

    yield make
    for wrapper in wrappers:
        wrapper.close()
    if alias in pool._pools:
        pool._pools.pop(alias).dispose()


def selected_database(wrapper: DatabaseWrapper) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0]


def server_id(wrapper: DatabaseWrapper) -> int:
    wrapper.ensure_connection()
    return wrapper.connection.thread_id()


def test_a_closed_connection_goes_back_to_the_pool_and_is_reused(make_wrapper):
    first, second = make_wrapper(), make_wrapper()
    with activate_tenant(tenant(TENANT_A)):
        used = server_id(first)
        first.close()
        assert server_id(second) == used


def test_a_reused_connection_points_at_the_tenant_active_for_its_new_owner(make_wrapper):
    first, second, third = make_wrapper(), make_wrapper(), make_wrapper()
    with activate_tenant(tenant(TENANT_A)):
        assert selected_database(first) == tenant(TENANT_A).db_name
        used = first.connection.thread_id()
        first.close()
    with activate_tenant(tenant(TENANT_B)):
        assert selected_database(second) == tenant(TENANT_B).db_name
        assert second.connection.thread_id() == used
        second.close()
    with activate_tenant(tenant(TENANT_A)):
        assert selected_database(third) == tenant(TENANT_A).db_name


def test_one_owner_at_a_time_the_next_one_waits_then_gets_an_operational_error(make_wrapper):
    holder, waiter = make_wrapper(timeout=0.3), make_wrapper(timeout=0.3)
    with activate_tenant(tenant(TENANT_A)):
        holder.ensure_connection()
        started = time.monotonic()
        with pytest.raises(OperationalError, match="no free connection"):
            waiter.ensure_connection()
        assert time.monotonic() - started >= 0.25
        holder.close()
        assert selected_database(waiter) == tenant(TENANT_A).db_name


def test_a_connection_closed_inside_a_transaction_is_really_closed(make_wrapper):
    first, second = make_wrapper(), make_wrapper()
    with activate_tenant(tenant(TENANT_A)):
        used = server_id(first)
        first.set_autocommit(False)  # what atomic() does at the outermost block
        with first.cursor() as cursor:
            cursor.execute("SELECT 1")
        first.close()
        assert server_id(second) != used


def test_a_connection_that_had_an_error_is_really_closed(make_wrapper):
    first, second = make_wrapper(), make_wrapper()
    with activate_tenant(tenant(TENANT_A)):
        used = server_id(first)
        with pytest.raises(ProgrammingError), first.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        first.close_if_unusable_or_obsolete()  # what Django runs at the end of every request
        assert first.connection is None
        assert server_id(second) != used


def test_an_idle_connection_that_died_is_replaced_before_it_is_handed_out(make_wrapper):
    first, second = make_wrapper(ping_after=0), make_wrapper(ping_after=0)
    with activate_tenant(tenant(TENANT_A)):
        used = server_id(first)
        first.close()
        mysql_rows(f"KILL {int(used)}")
        assert selected_database(second) == tenant(TENANT_A).db_name
        assert second.connection.thread_id() != used


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("10.0.0.6", True),
        ("192.168.1.2", True),
        ("", True),
        ("8.8.8.8", False),
        ("db.example.com", False),
    ],
)
def test_tls_is_skipped_only_for_loopback_and_private_hosts(host, private):
    assert pool.is_private_host(host) is private


def test_connections_returned_before_an_error_are_pinged_before_their_next_use(make_wrapper):
    # What a MySQL restart does: every idle connection of the pool dies. The request that finds the first dead
    # one fails; the pool then checks the others before handing them out, however briefly they were idle.
    first, second = make_wrapper(size=2, ping_after=3600), make_wrapper(size=2, ping_after=3600)
    with activate_tenant(tenant(TENANT_A)):
        ids = {server_id(first), server_id(second)}
        first.close()
        second.close()
        for connection_id in ids:
            mysql_rows(f"KILL {int(connection_id)}")
        unlucky, next_one = make_wrapper(size=2, ping_after=3600), make_wrapper(size=2, ping_after=3600)
        with pytest.raises(OperationalError):
            selected_database(unlucky)
        unlucky.close_if_unusable_or_obsolete()  # the end of its request
        assert selected_database(next_one) == tenant(TENANT_A).db_name
        assert next_one.connection.thread_id() not in ids


def test_a_released_connection_serves_the_next_owner_while_the_first_still_works(make_wrapper):
    waiting, other = make_wrapper(timeout=0.3), make_wrapper(timeout=0.3)
    with activate_tenant(tenant(TENANT_A)):
        used = server_id(waiting)
        assert pool.release_pooled_connections([waiting, other]) == [waiting.alias]
        assert server_id(other) == used  # the pool's only connection, free at once
        other.close()
        assert selected_database(waiting) == tenant(TENANT_A).db_name  # checked out again on its next query


def test_a_connection_inside_a_transaction_is_not_released(make_wrapper):
    in_transaction, other = make_wrapper(timeout=0.3), make_wrapper(timeout=0.3)
    with activate_tenant(tenant(TENANT_A)):
        in_transaction.set_autocommit(False)
        with in_transaction.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert pool.release_pooled_connections([in_transaction]) == []
        with pytest.raises(OperationalError, match="no free connection"):
            other.ensure_connection()
        in_transaction.rollback()
        in_transaction.set_autocommit(True)


GEVENT_SETTINGS = """
from gevent import monkey
monkey.patch_all()
import django
from django.conf import settings
django.setup()
control, tenant = settings.DATABASES["default"]["POOL"], settings.DATABASES["tenant_main"]["POOL"]
print(control["size"], control["size"] + control["max_overflow"], tenant["size"])
"""


def run_settings_under_gevent(**env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DB_POOL")}
    return subprocess.run(
        [PYTHON, "-c", GEVENT_SETTINGS],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(BASE_DIR), **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_under_gevent_the_pool_is_on_by_default():
    result = run_settings_under_gevent()
    assert result.returncode == 0, result.stderr[-2000:]
    # The control database keeps one connection idle and bursts to the same budget as a tenant server.
    assert result.stdout.split() == ["1", str(pool.GEVENT_POOL_SIZE), str(pool.GEVENT_POOL_SIZE)]


@pytest.mark.slow
def test_under_gevent_a_pool_of_zero_refuses_to_start_naming_the_variable():
    result = run_settings_under_gevent(DB_POOL_SIZE="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DB_POOL_SIZE=0 under gevent" in result.stderr


def test_connections_opened_for_a_burst_are_closed_when_they_come_back(make_wrapper):
    # The control database's pool shape (DB_CONTROL_POOL_SIZE 1 + overflow): after a burst it holds one, not all.
    burst = [make_wrapper(max_overflow=3) for _ in range(4)]
    with activate_tenant(tenant(TENANT_A)):
        ids = {server_id(wrapper) for wrapper in burst}
        assert len(ids) == 4
        for wrapper in burst:
            wrapper.close()
    deadline = time.monotonic() + 5  # the server ends a quitting connection's thread a moment later
    while len(ids & processlist_ids()) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ids & processlist_ids()) == 1


def processlist_ids() -> set[int]:
    return {row[0] for row in mysql_rows("SELECT ID FROM information_schema.PROCESSLIST")}


def test_without_gevent_the_default_is_no_pool():
    assert pool.default_pool_size() == 0
