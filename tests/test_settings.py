"""Settings per environment: master refuses to start without its secrets and names the missing one."""

import os
import subprocess

import pytest

from tests.helpers import BASE_DIR, PYTHON

# Every test here starts Django under master settings in a process of its own.
pytestmark = pytest.mark.slow

MASTER_SECRETS = {
    "DJANGO_SECRET_KEY": "a-production-secret",
    "CONTROL_DATABASE_URL": "mysql://miniplex:pw@127.0.0.1:3306/miniplex_control",
    "TENANT_DB_MAIN_URL": "mysql://miniplex_app:pw@127.0.0.1:3306/",
    "TENANT_DB_MAIN_DDL_URL": "mysql://miniplex_ddl:pw@127.0.0.1:3306/",
    "TENANT_SECRETS_KEYS": "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def start_master(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in MASTER_SECRETS and key != "DJANGO_DEBUG"}
    return subprocess.run(
        [PYTHON, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings.master"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )


@pytest.mark.parametrize("missing", list(MASTER_SECRETS))
def test_master_refuses_to_start_without_a_secret_and_names_it(missing):
    env = {key: value for key, value in MASTER_SECRETS.items() if key != missing}
    result = start_master(env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_master_starts_with_every_secret_and_debug_off():
    result = start_master(MASTER_SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_server_without_its_ddl_url_is_named():
    env = {**MASTER_SECRETS, "TENANT_DB_SERVERS": "main,second", "TENANT_DB_SECOND_URL": "mysql://a:b@127.0.0.1/"}
    result = start_master(env)
    assert result.returncode != 0
    assert "Set the TENANT_DB_SECOND_DDL_URL environment variable" in result.stderr
