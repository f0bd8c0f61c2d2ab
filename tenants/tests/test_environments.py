"""Environments sharing one control database see and change only their own registry rows (issue 12.5).

Production's control database is the test environment's (admin and auth are shared on purpose). Here rows of
a `master` environment sit beside the suite's own (`test`), one of them under the same AppID as a test tenant,
and no path of the test environment (selectors, services, commands, the middleware, Django admin, the
platform API) lists, resolves, suspends or retires them. The test settings refuse their built-in keys when
the databases are elsewhere (miniplex.E001).
"""

import importlib
import os
import re
import subprocess
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from tenants import cache, checks
from tenants.app_ids import tenant_db_name
from tenants.exceptions import DatabaseNameTaken, TenantNotFound
from tenants.models import Tenant
from tenants.selectors import tenant_get, tenant_list, tenant_resolve
from tenants.services import tenant_onboard, tenant_suspend
from tests.helpers import BASE_DIR, PYTHON, TENANT_A, TENANT_B, TENANT_C

pytestmark = pytest.mark.usefixtures("tenant_db")
PRODUCTION_ONLY = "wx00000000000000d9"
NEW_APP_ID = "wx00000000000000da"


@pytest.fixture
def production_rows():
    """Two rows of `master`: one AppID it alone has, and TENANT_A, which the test environment has too."""
    rows = [
        Tenant.all_environments.create(
            environment="master",
            app_id=app_id,
            name=f"Production {app_id}",
            status=Tenant.Status.ACTIVE,
            db_server="main",
            db_name=f"mp_{app_id}",
            app_secret_encrypted="production-ciphertext",
        )
        for app_id in (PRODUCTION_ONLY, TENANT_A)
    ]
    yield rows
    Tenant.all_environments.filter(environment="master").delete()


def snapshot() -> list[tuple]:
    return list(
        Tenant.all_environments.filter(environment="master")
        .order_by("app_id")
        .values_list("app_id", "status", "version", "name", "app_secret_encrypted")
    )


def test_the_other_environments_rows_are_invisible_to_every_path_and_left_unchanged(production_rows, admin_client):
    before = snapshot()
    assert sorted(tenant.app_id for tenant in tenant_list()) == sorted([TENANT_A, TENANT_B, TENANT_C])
    assert tenant_get(app_id=TENANT_A).db_name == tenant_db_name(TENANT_A)  # the test environment's row
    with pytest.raises(TenantNotFound):
        tenant_get(app_id=PRODUCTION_ONLY)

    # Mini-program requests.
    ping = Client().get("/api/v1/ping", headers={"X-AppID": PRODUCTION_ONLY})
    assert ping.status_code == 404 and ping.json()["error"]["code"] == "tenant_not_found"
    assert tenant_resolve(app_id=TENANT_A).db_name == tenant_db_name(TENANT_A)

    # Django admin: not listed, no page of its own, no action on it.
    changelist = admin_client.get("/admin/tenants/tenant/")
    assert changelist.status_code == 200 and PRODUCTION_ONLY not in changelist.content.decode()
    assert admin_client.get(f"/admin/tenants/tenant/{production_rows[0].pk}/change/").status_code in (302, 404)
    admin_client.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [str(row.pk) for row in production_rows]},
    )

    # The platform API.
    listed = admin_client.get("/platform/v1/tenants")
    assert listed.status_code == 200 and PRODUCTION_ONLY not in listed.content.decode()
    assert [tenant["app_id"] for tenant in listed.json()].count(TENANT_A) == 1
    assert admin_client.get(f"/platform/v1/tenants/{PRODUCTION_ONLY}").status_code == 404
    assert admin_client.post(f"/platform/v1/tenants/{PRODUCTION_ONLY}/suspend").status_code == 404
    retire = admin_client.post(
        f"/platform/v1/tenants/{PRODUCTION_ONLY}/retire",
        {"confirm_app_id": PRODUCTION_ONLY},
        content_type="application/json",
    )
    assert retire.status_code == 404

    # The commands.
    for command in (["suspend_tenant", PRODUCTION_ONLY], ["drop_tenant", PRODUCTION_ONLY, "--yes"]):
        with pytest.raises(CommandError, match="tenant_not_found"):
            call_command(*command)

    assert snapshot() == before


def test_suspending_the_test_tenant_leaves_productions_tenant_of_the_same_app_id_alone(production_rows):
    before = snapshot()
    tenant_suspend(app_id=TENANT_A)
    assert Tenant.objects.get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED
    assert snapshot() == before


def test_each_environment_sees_its_own_rows_by_its_setting(production_rows, settings):
    settings.TENANT_ENVIRONMENT = "master"
    assert sorted(tenant.app_id for tenant in tenant_list()) == sorted([PRODUCTION_ONLY, TENANT_A])
    assert tenant_get(app_id=TENANT_A).db_name == f"mp_{TENANT_A}"
    with pytest.raises(TenantNotFound):
        tenant_get(app_id=TENANT_B)


def test_a_new_row_belongs_to_this_environment_and_a_database_name_of_another_is_refused(production_rows):
    Tenant.all_environments.create(
        environment="master", app_id=NEW_APP_ID, name="prod", db_server="main", db_name=tenant_db_name(NEW_APP_ID)
    )
    with pytest.raises(DatabaseNameTaken):
        tenant_onboard(app_id=NEW_APP_ID, name="would share production's database")
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert Tenant.objects.get(app_id=TENANT_B).environment == "test"


def test_the_registry_keys_in_redis_carry_the_environment(production_rows, settings):
    tenant_resolve(app_id=TENANT_A)
    assert cache.entry_key(TENANT_A).endswith(f"tenant-registry:test:entry:{TENANT_A}")
    redis = cache._redis()
    assert redis is not None
    assert redis.get(cache.entry_key(TENANT_A)) is not None
    settings.TENANT_ENVIRONMENT = "master"
    assert redis.get(cache.entry_key(TENANT_A)) is None  # master's entry for the AppID is its own key


def test_a_plain_save_of_a_copy_read_earlier_does_not_undo_a_suspension():
    """An admin form saves the whole row it read; the lifecycle fields are the services' alone."""
    copy = Tenant.objects.get(app_id=TENANT_B)
    suspended = tenant_suspend(app_id=TENANT_B)
    copy.name = "Renamed"
    copy.save()
    saved = Tenant.objects.get(app_id=TENANT_B)
    assert (saved.name, saved.status, saved.version) == ("Renamed", Tenant.Status.SUSPENDED, suspended.version)


def test_the_migration_gives_existing_rows_the_environment_that_made_them():
    migration = importlib.import_module("tenants.migrations.0003_environment_and_version")
    state_apps = MigrationLoader(connection).project_state(("tenants", "0003_environment_and_version")).apps
    made = {
        "wx00000000000000e1": tenant_db_name("wx00000000000000e1"),  # this environment's prefix: test
        "wx00000000000000e2": "mp_test_otherrun_wx00000000000000e2",  # the test settings' prefix: test
        "wx00000000000000e3": "mp_wx00000000000000e3",  # production's
    }
    for app_id, db_name in made.items():
        Tenant.all_environments.create(environment="unassigned", app_id=app_id, db_name=db_name, db_server="main")
    try:
        migration.assign_environments(state_apps, SimpleNamespace(connection=connection))
        found = dict(Tenant.all_environments.filter(app_id__in=made).values_list("app_id", "environment"))
    finally:
        Tenant.all_environments.filter(app_id__in=made).delete()
    assert found == {"wx00000000000000e1": "test", "wx00000000000000e2": "test", "wx00000000000000e3": "master"}


# --- Keys of their own ------------------------------------------------------------------------------------


def test_the_check_refuses_the_repositorys_keys_when_a_database_is_elsewhere(monkeypatch, settings):
    assert checks.repository_keys_check() == []  # the suite's databases are local
    monkeypatch.setattr(checks, "remote_database_hosts", lambda: ["10.0.0.5"])
    assert [error.id for error in checks.repository_keys_check()] == ["miniplex.E001", "miniplex.E001"]
    settings.SECRET_KEY = "a-key-of-its-own"
    settings.TENANT_SECRETS_KEYS = ["b3duLWtleS1vZi10aGUtdGVzdC1lbnZpcm9ubWVudCE="]
    assert checks.repository_keys_check() == []


def test_the_check_refuses_appsecret_keys_that_decrypt_another_environments_secrets(production_rows):
    from cryptography.fernet import Fernet

    from tenants.secrets import secret_encrypt

    assert checks.shared_secrets_keys_check(databases=["default"]) == []  # production's keys are its own
    assert checks.shared_secrets_keys_check() == []  # needs the database, as Django's database checks do
    Tenant.all_environments.filter(environment="master").update(
        app_secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"production secret").decode()
    )
    assert checks.shared_secrets_keys_check(databases=["default"]) == []
    Tenant.all_environments.filter(app_id=PRODUCTION_ONLY).update(app_secret_encrypted=secret_encrypt("shared"))
    assert [error.id for error in checks.shared_secrets_keys_check(databases=["default"])] == ["miniplex.E005"]


def test_local_database_hosts_are_loopback_and_sockets_only():
    databases = {
        "a": {"HOST": "127.0.0.1"},
        "b": {"HOST": "::1"},
        "c": {"HOST": ""},
        "d": {"HOST": "/run/mysqld/mysqld.sock"},
        "e": {"HOST": "localhost"},
        "f": {"HOST": "10.0.0.5"},
        "g": {"HOST": "db.internal"},
    }
    assert checks.remote_database_hosts(databases) == ["10.0.0.5", "db.internal"]
    assert checks.remote_database_hosts() == []  # the suite's own


def test_the_environment_name_is_checked(settings):
    assert checks.environment_name_check() == []
    settings.TENANT_ENVIRONMENT = "Prod Env!"
    assert [error.id for error in checks.environment_name_check()] == ["miniplex.E002"]


def test_every_key_written_in_the_settings_modules_is_known_to_the_check():
    written = set()
    for module in ("debug.py", "test.py"):
        text = (BASE_DIR / "config" / "settings" / module).read_text()
        written |= set(re.findall(r'"(?:DJANGO_SECRET_KEY|TENANT_SECRETS_KEYS)": "([^"]+)"', text))
    assert len(written) == 4 and written <= checks.REPOSITORY_KEYS
    assert settings.TENANT_SECRETS_KEYS[0] in checks.REPOSITORY_KEYS  # the suite runs on the built-in ones


def start_django(**variables: str) -> subprocess.CompletedProcess:
    """Loads the settings and the apps in a new process (no database is contacted)."""
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SECRET_KEY", "TENANT_SECRETS_KEYS")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(BASE_DIR), **variables})
    code = "import django; django.setup(); print('started')"
    return subprocess.run([PYTHON, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60)


REMOTE = {"CONTROL_DATABASE_URL": "mysql://miniplex:pw@10.0.0.5:3306/miniplex_control"}
BUILTIN_SECRETS_KEY = "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM="


@pytest.mark.slow
def test_the_test_settings_fall_back_to_their_built_in_keys_only_while_the_databases_are_local():
    assert start_django().stdout.strip() == "started"

    missing = start_django(**REMOTE)
    assert missing.returncode != 0 and "Set the DJANGO_SECRET_KEY environment variable" in missing.stderr

    builtin = start_django(**REMOTE, DJANGO_SECRET_KEY="own-key", TENANT_SECRETS_KEYS=BUILTIN_SECRETS_KEY)
    assert builtin.returncode != 0 and "miniplex.E001: TENANT_SECRETS_KEYS" in builtin.stderr

    own = start_django(
        **REMOTE, DJANGO_SECRET_KEY="own-key", TENANT_SECRETS_KEYS="b3duLWtleS1vZi10aGUtdGVzdC1lbnZpcm9ubWVudCE="
    )
    assert own.stdout.strip() == "started", own.stderr


@pytest.mark.slow
def test_manage_py_check_refuses_the_repositorys_keys_in_master_with_a_remote_database():
    env = {
        **os.environ,
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings.master",
        "DJANGO_SECRET_KEY": "own-key",
        "TENANT_SECRETS_KEYS": BUILTIN_SECRETS_KEY,
        "TENANT_DB_MAIN_URL": "mysql://app:pw@10.0.0.6:3306/",
        "TENANT_DB_MAIN_DDL_URL": "mysql://ddl:pw@10.0.0.6:3306/",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **REMOTE,
    }
    result = subprocess.run(
        [PYTHON, str(BASE_DIR / "manage.py"), "check"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "miniplex.E001" in result.stderr and "TENANT_SECRETS_KEYS" in result.stderr
