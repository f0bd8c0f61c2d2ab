"""The end-to-end tests' own MariaDB and Redis (started once per session), with three tenants provisioned.

They run the production settings (tests.e2e.settings: master plus the test views) in real processes. Nothing
here uses the shared servers, so a test may stop these and start them again.
"""

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.services import PrivateMariaDB, PrivateRedis, manage, private_mariadb, private_redis, stack_env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e/ is the e2e tier, so `-m "not e2e"` leaves it out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


E2E_TENANTS = ("wx00000000000000e1", "wx00000000000000e2", "wx00000000000000e3")


@dataclass
class Services:
    mariadb: PrivateMariaDB
    redis: PrivateRedis
    workdir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return stack_env(self.mariadb, self.redis, **extra)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    with tempfile.TemporaryDirectory(prefix="miniplex-e2e-") as tmp:
        workdir = Path(tmp)
        with private_mariadb(workdir / "mariadb") as mariadb, private_redis(workdir / "redis") as redis:
            found = Services(mariadb=mariadb, redis=redis, workdir=workdir)
            env = found.env()
            manage(env, "migrate", "--noinput", "-v", "0")
            for index, app_id in enumerate(E2E_TENANTS):
                manage(env, "create_tenant", app_id, "--name", f"E2E tenant {index}")
            yield found


@pytest.fixture
def running_services(services: Services) -> Iterator[Services]:
    """The services, started again after the test if it stopped one (whatever happened in it)."""
    try:
        yield services
    finally:
        if services.mariadb.process is None:
            services.mariadb.start()
        if services.redis.process is None:
            services.redis.start()
