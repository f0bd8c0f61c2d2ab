"""The shipped gunicorn config (gevent) under settings `test` with DB_POOL_SIZE unset: a pool all the same.

`config.settings.test` is also a deployed test environment's module, and it gives no DB_POOL_SIZE: under gevent
without a pool each greenlet kept a MySQL connection of its own (CONN_MAX_AGE), and 2,000 authenticated /me of
50 clients got 927 x 503 when MariaDB's max_connections ran out. The pool's default now follows the worker class.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Services
from tests.e2e.services import run_load, running_gunicorn, watching_peak
from tests.e2e.wechat_tenants import authorized, fake_wechat, login, onboard

APP_ID = "wx00000000000000d7"
WORKERS = 2
ALIASES = 2  # the control database and the tenant server, each with its own pool per worker
GEVENT_POOL_SIZE = 8  # DB_POOL_SIZE's default under gevent (routers.backends.pool.GEVENT_POOL_SIZE)


def runtime_user_connections(services: Services) -> int:
    """Connections ever opened by the runtime user, the tenant server's pooled alias (MariaDB's userstat)."""
    rows = services.mariadb.sql(
        "SELECT TOTAL_CONNECTIONS FROM information_schema.USER_STATISTICS WHERE USER = 'miniplex_app'"
    ).split()
    return int(rows[0]) if rows else 0


@pytest.fixture
def test_settings_stack(services: Services) -> Iterator[int]:
    with fake_wechat(APP_ID) as wechat:
        env = services.env(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            WECHAT_API_BASE=wechat.base_url,
            # One user sends all 2,000 requests: the per-user throttle (600/min) would answer most with 429.
            API_THROTTLE_RATE_USER="1000000/min",
        )
        env.pop("DB_POOL_SIZE")  # services.env() gives one; this test is about its absence
        onboard(env, APP_ID)
        with running_gunicorn(env, services.workdir / "gunicorn-test-settings.log", workers=WORKERS) as port:
            yield port


def test_settings_test_under_the_shipped_gevent_config_has_a_bounded_pool(services, test_settings_stack):
    port = test_settings_stack
    token = login(port, APP_ID, "pool-default")
    services.mariadb.sql("SET GLOBAL userstat = 1")
    opened_before = runtime_user_connections(services)
    budget = WORKERS * ALIASES * GEVENT_POOL_SIZE
    with watching_peak(lambda: services.mariadb.status("Threads_connected") - 1) as peak:  # minus its own
        summary = run_load(
            {
                "port": port,
                "paths": ["/api/v1/me"],
                "app_ids": [APP_ID],
                "headers": authorized(APP_ID, token),
                "clients": 50,
                "requests": 2000,
                "timeout": 60,
                "limit": 240,
            }
        )
    opened = runtime_user_connections(services) - opened_before
    print(f"settings test, DB_POOL_SIZE unset: {summary}, peak connections {peak[0]}, runtime user opened {opened}")
    assert summary["error_count"] == 0, summary["errors"]
    assert summary["statuses"] == {"200": 2000}
    # The tenant server's pool: at most GEVENT_POOL_SIZE per worker, opened once (without a pool: one per greenlet).
    assert opened <= WORKERS * GEVENT_POOL_SIZE
    assert 0 < peak[0] <= budget
