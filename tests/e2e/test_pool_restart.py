"""A MySQL restart costs no failed request once the server is back (gunicorn gevent + the pool, private MariaDB).

Before: the pool handed out its idle connections unchecked for DB_POOL_PING_AFTER (10 s), so after a quick
restart the first use of each pooled connection failed with 503 (4 of 40). Now an idle connection is pinged
after 1 s (a restart takes longer), and after any database error every connection returned before it is.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import run_load, running_gunicorn

POOL_SIZE = 4


@pytest.fixture
def one_worker(running_services: Services) -> Iterator[int]:
    # DB_POOL_PING_AFTER and the rest at their defaults: what production runs.
    env = running_services.env(DB_POOL_SIZE=str(POOL_SIZE))
    with running_gunicorn(env, running_services.workdir / "gunicorn-restart.log", workers=1) as port:
        yield port


def test_after_a_mysql_restart_no_request_fails(running_services, one_worker):
    spec = {
        "port": one_worker,
        "paths": ["/test/users/count"],
        "app_ids": list(E2E_TENANTS),
        "clients": POOL_SIZE,  # every pooled connection of the worker is in use, then idle
        "requests": 40,
        "timeout": 30,
        "limit": 120,
    }
    before = run_load(spec)
    assert before["statuses"] == {"200": 40}, before
    running_services.mariadb.stop()
    running_services.mariadb.start()
    after = run_load(spec)
    print(f"40 requests after the restart: {after}")
    assert after["error_count"] == 0, after["errors"]
    log = (running_services.workdir / "gunicorn-restart.log").read_text()
    assert after["statuses"] == {"200": 40}, log[-6000:]
