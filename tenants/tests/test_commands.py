import json

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.test import Client

from console.tests.audit import AuditSince
from core.tenant_context import activate_tenant, tenant_ddl_alias
from tenants import schema, services
from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_context_for
from tests.helpers import (
    SESSION_TENANTS,
    TENANT_A,
    log_queries,
    mysql_rows,
    run_manage,
    tenant_databases_on_server,
)

pytestmark = pytest.mark.usefixtures("tenant_db")
NEW_APP_ID = "wx00000000000000e5"
NEW_DB = f"{settings.TENANT_DB_PREFIX}{NEW_APP_ID}"


def command(*args, **options):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def ping(app_id):
    return Client().get("/api/v1/ping", headers={"X-AppID": app_id})


def test_create_tenant_creates_a_migrated_utf8mb4_database_and_registers_it(monkeypatch):
    monkeypatch.setenv("NEW_APP_SECRET", "s3cret-value")
    output = command("create_tenant", NEW_APP_ID, "--name", "新店 🛍️", "--secret-env", "NEW_APP_SECRET")
    assert f"{NEW_APP_ID}: active on main/{NEW_DB}" in output
    tenant = Tenant.objects.get(app_id=NEW_APP_ID)
    assert (tenant.name, tenant.status, tenant.db_name) == ("新店 🛍️", "active", NEW_DB)
    assert "s3cret-value" not in tenant.app_secret_encrypted
    assert secret_decrypt(tenant.app_secret_encrypted) == "s3cret-value"
    collation = mysql_rows(
        "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (NEW_DB,)
    )
    assert collation == [("utf8mb4_unicode_ci",)]
    assert mysql_rows(f"SELECT app, name FROM `{NEW_DB}`.django_migrations WHERE app='accounts'")
    assert ping(NEW_APP_ID).json() == {"app_id": NEW_APP_ID}


def test_create_tenant_rerun_after_a_failure_half_way_completes_the_work(monkeypatch):
    def migration_fails(*, tenant):
        raise RuntimeError("the server went away")

    monkeypatch.setattr(services, "tenant_schema_provision", migration_fails)
    with pytest.raises(RuntimeError, match="went away"):
        command("create_tenant", NEW_APP_ID, "--name", "Half")
    assert Tenant.objects.get(app_id=NEW_APP_ID).status == "provisioning"
    assert NEW_DB in tenant_databases_on_server()
    assert ping(NEW_APP_ID).status_code == 404  # half-made tenants serve nothing

    monkeypatch.undo()
    command("create_tenant", NEW_APP_ID, "--name", "Half")
    assert Tenant.objects.filter(app_id=NEW_APP_ID).count() == 1
    assert Tenant.objects.get(app_id=NEW_APP_ID).status == "active"
    assert ping(NEW_APP_ID).status_code == 200

    # A third run of a complete tenant changes nothing and does not fail.
    command("create_tenant", NEW_APP_ID, "--name", "Half")
    assert Tenant.objects.filter(app_id=NEW_APP_ID).count() == 1


@pytest.mark.parametrize("app_id", ["a`;DROP DATABASE x;--", "../x", "wx" + "0" * 63, "wx00000000000000e5 ", "wxе0"])
def test_create_tenant_refuses_hostile_app_ids_before_any_sql(app_id):
    before = tenant_databases_on_server()
    with log_queries() as log, pytest.raises(CommandError, match="app_id_invalid"):
        command("create_tenant", app_id, "--name", "x")
    assert log.queries == [] and log.connections == []
    assert tenant_databases_on_server() == before


def test_create_tenant_refuses_an_unknown_server_and_an_empty_secret_variable(monkeypatch):
    with pytest.raises(CommandError, match="unknown_database_server"):
        command("create_tenant", NEW_APP_ID, "--name", "x", "--server", "nowhere")
    monkeypatch.delenv("MISSING_SECRET", raising=False)
    with pytest.raises(CommandError, match="MISSING_SECRET"):
        command("create_tenant", NEW_APP_ID, "--name", "x", "--secret-env", "MISSING_SECRET")
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()


def test_list_tenants_json_lists_every_tenant_and_never_a_secret():
    rows = json.loads(command("list_tenants", "--json"))
    assert [row["app_id"] for row in rows] == sorted(SESSION_TENANTS)
    assert {row["status"] for row in rows} == {"active"}
    assert "secret" not in json.dumps(rows)
    assert "Tenant 0 😀" in command("list_tenants")


def test_suspend_and_resume_take_effect_at_once_in_this_process():
    assert ping(TENANT_A).status_code == 200
    assert f"{TENANT_A}: suspended" in command("suspend_tenant", TENANT_A)
    assert ping(TENANT_A).json()["error"]["code"] == "tenant_suspended"
    assert f"{TENANT_A}: active" in command("resume_tenant", TENANT_A)
    assert ping(TENANT_A).status_code == 200


def test_status_commands_name_an_unknown_tenant():
    with pytest.raises(CommandError, match="tenant_not_found"):
        command("suspend_tenant", "wx0000000000000000")


def test_drop_tenant_refuses_without_yes_then_drops_database_row_and_cache():
    command("create_tenant", NEW_APP_ID, "--name", "Doomed")
    assert ping(NEW_APP_ID).status_code == 200  # now cached in this process and in Redis
    with pytest.raises(CommandError, match="--yes"):
        command("drop_tenant", NEW_APP_ID)
    assert NEW_DB in tenant_databases_on_server()

    command("drop_tenant", NEW_APP_ID, "--yes")
    assert NEW_DB not in tenant_databases_on_server()
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert caches["platform"].get(f"tenant:{NEW_APP_ID}") is None
    assert ping(NEW_APP_ID).json()["error"]["code"] == "tenant_not_found"


def test_migrate_tenants_applies_what_is_missing_and_skips_up_to_date_tenants():
    database = f"{settings.TENANT_DB_PREFIX}{TENANT_A}"
    # Take tenant A back to before the outbox's migration (as root, like an older deploy would have left it). The
    # outbox, because no other table points at it: accounts' users are referenced by every other tenant app.
    mysql_rows(f"DROP TABLE `{database}`.outbox_outboxjob")
    mysql_rows(f"DELETE FROM `{database}`.django_migrations WHERE app='outbox'")
    Tenant.objects.filter(app_id=TENANT_A).update(schema_fingerprint="")  # recorded by that older deploy

    output = command("migrate_tenants", "--parallel", "3")
    assert f"{TENANT_A}: applied 1 (outbox.0001_initial)" in output
    for app_id in SESSION_TENANTS[1:]:
        assert f"{app_id}: up to date" in output
    assert "3 tenant(s) migrated" in output
    assert mysql_rows(f"SHOW TABLES IN `{database}` LIKE 'outbox_outboxjob'")


def test_an_up_to_date_tenant_is_checked_with_two_queries_and_no_migration_graph():
    tenant = Tenant.objects.get(app_id=TENANT_A)
    with log_queries([tenant_ddl_alias("main")]) as log:
        assert schema.tenant_schema_migrate(tenant=tenant) == []
    # Beyond the connection's own set-up: is there a django_migrations table, and what does it hold.
    checks = [sql for _alias, sql in log.queries if not sql.startswith("SET SESSION")]
    assert len(checks) == 2
    assert "django_migrations" in checks[-1]


@pytest.mark.slow
def test_migrate_tenants_keeps_going_past_a_failing_tenant_and_exits_non_zero():
    command("create_tenant", NEW_APP_ID, "--name", "Broken")
    mysql_rows(f"DROP DATABASE `{NEW_DB}`")  # its database vanished behind our back
    Tenant.objects.filter(app_id=NEW_APP_ID).update(schema_fingerprint="")  # and a new migration came out

    result = run_manage("migrate_tenants", "--parallel", "2")
    assert result.returncode == 1
    assert f"{NEW_APP_ID}: FAILED" in result.stdout
    for app_id in SESSION_TENANTS:
        assert f"{app_id}: up to date" in result.stdout
    assert "1 of 4 tenant(s) failed" in result.stderr


def test_migrate_tenants_of_named_tenants_only_and_of_an_unknown_one():
    output = command("migrate_tenants", TENANT_A)
    assert output.splitlines() == [f"{TENANT_A}: up to date", "1 tenant(s) migrated"]
    with pytest.raises(CommandError, match="no such tenant"):
        command("migrate_tenants", "wx0000000000000000")


@pytest.mark.slow
def test_lifecycle_commands_run_as_real_processes():
    result = run_manage("create_tenant", NEW_APP_ID, "--name", "Process 😀")
    assert result.returncode == 0, result.stderr
    listed = json.loads(run_manage("list_tenants", "--json").stdout)
    assert NEW_APP_ID in [row["app_id"] for row in listed]
    refused = run_manage("drop_tenant", NEW_APP_ID)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert run_manage("drop_tenant", NEW_APP_ID, "--yes").returncode == 0
    assert NEW_DB not in tenant_databases_on_server()


def test_the_runtime_alias_never_serves_migrations():
    tenant = Tenant.objects.get(app_id=TENANT_A)
    with activate_tenant(tenant_context_for(tenant)):
        from django.db import router

        from accounts.models import MiniProgramUser

        assert router.allow_migrate_model("default", MiniProgramUser) is False
        assert router.allow_migrate_model("tenant_main", MiniProgramUser) is True
        assert router.allow_migrate_model("tenant_main", Tenant) is False


# --- The commands' lifecycle actions are in the audit trail (door "command") -----------------------------------


def test_each_lifecycle_command_writes_one_audit_entry_naming_the_login_and_its_ssh_client(monkeypatch, wechat):
    import getpass
    import socket

    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.44 52100 10.0.0.5 22")
    monkeypatch.delenv("SUDO_USER", raising=False)
    audit = AuditSince()

    def entry(action, app_id, command_name):
        found = audit.one()
        assert (found.action, found.app_id, found.door) == (action, app_id, "command")
        assert (found.actor, found.actor_id, found.address) == (getpass.getuser(), None, "192.0.2.44")
        assert found.details["command"] == command_name
        assert found.details["host"] == socket.gethostname()

    command("create_tenant", NEW_APP_ID, "--name", "审计")
    entry("onboard", NEW_APP_ID, "create_tenant")
    command("suspend_tenant", TENANT_A)
    entry("suspend", TENANT_A, "suspend_tenant")
    command("resume_tenant", TENANT_A)
    entry("resume", TENANT_A, "resume_tenant")
    wechat.control.register_app(TENANT_A, "rotated-by-command", unionid=True)
    monkeypatch.setenv("NEW_SECRET", "rotated-by-command")
    assert f"{TENANT_A}: AppSecret rotated" in command("rotate_secret", TENANT_A, "--secret-env", "NEW_SECRET")
    assert secret_decrypt(Tenant.objects.get(app_id=TENANT_A).app_secret_encrypted) == "rotated-by-command"
    entry("rotate_secret", TENANT_A, "rotate_secret")
    command("drop_tenant", NEW_APP_ID, "--yes")
    entry("retire", NEW_APP_ID, "drop_tenant")

    # Refused or failed: nothing was done, nothing is recorded.
    with pytest.raises(CommandError, match="--yes"):
        command("drop_tenant", TENANT_A)
    with pytest.raises(CommandError, match="tenant_not_found"):
        command("suspend_tenant", "wx0000000000000000")
    monkeypatch.setenv("NEW_SECRET", "wrong-secret")
    with pytest.raises(CommandError, match="wechat_secret_rejected"):
        command("rotate_secret", TENANT_A, "--secret-env", "NEW_SECRET")
    audit.none()


def test_a_command_run_under_sudo_names_the_person_and_a_local_one_no_address(monkeypatch):
    import getpass

    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    monkeypatch.setenv("SUDO_USER", "alice-ops")
    audit = AuditSince()
    command("suspend_tenant", TENANT_A)
    found = audit.one()
    assert found.actor == f"alice-ops (sudo {getpass.getuser()})"
    assert found.address == ""


def test_the_commands_help_names_the_permission_the_admin_and_the_api_ask_for():
    for name, permission in {
        "create_tenant": "tenants.add_tenant",
        "suspend_tenant": "tenants.suspend_tenant",
        "resume_tenant": "tenants.suspend_tenant",
        "rotate_secret": "tenants.rotate_secret",
        "drop_tenant": "tenants.retire_tenant",
        "list_tenants": "tenants.view_tenant",
    }.items():
        assert permission in run_help(name), name


def run_help(name):
    from django.core.management import get_commands, load_command_class

    return load_command_class(get_commands()[name], name).help


# --- rotate_secrets_key: every secret re-encrypted under the newest key ---------------------------------------


def stored_secrets():
    return dict(Tenant.objects.values_list("app_id", "app_secret_encrypted"))


def stored_session_keys():
    from accounts.models import MiniProgramUser

    keys = {}
    for app_id in SESSION_TENANTS[:2]:
        with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
            keys.update(dict(MiniProgramUser.objects.values_list("openid", "session_key_encrypted")))
    return keys


def make_users_with_session_keys():
    from accounts.models import MiniProgramUser

    for app_id in SESSION_TENANTS[:2]:
        with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
            for n in range(2):
                user = MiniProgramUser(openid=f"{app_id}-user-{n}")
                user.session_key = f"session-key-{app_id}-{n}"
                user.save()


def test_rotate_secrets_key_reencrypts_every_secret_and_session_key_under_the_new_key_idempotently(settings):
    from cryptography.fernet import Fernet

    make_users_with_session_keys()
    new_key = Fernet.generate_key().decode()
    before, before_keys = stored_secrets(), stored_session_keys()
    settings.TENANT_SECRETS_KEYS = [new_key, *settings.TENANT_SECRETS_KEYS]  # new key first, old ones for reading

    dry = command("rotate_secrets_key", "--dry-run")
    assert "AppSecrets: 3 would be re-encrypted, 0 under the newest key already" in dry
    assert "session keys, every tenant: 4 would be re-encrypted, 0 under the newest key already" in dry
    assert (stored_secrets(), stored_session_keys()) == (before, before_keys)

    audit = AuditSince()
    done = command("rotate_secrets_key")
    assert "AppSecrets: 3 re-encrypted, 0 under the newest key already" in done
    assert f"{TENANT_A}: session keys: 2 re-encrypted, 0 under the newest key already" in done
    assert "session keys, every tenant: 4 re-encrypted" in done
    after, after_keys = stored_secrets(), stored_session_keys()
    for app_id in SESSION_TENANTS:
        assert Fernet(new_key).decrypt(after[app_id].encode()).decode() == f"secret-{app_id}"
    for openid, value in after_keys.items():
        app_id, n = openid.split("-user-")
        assert value != before_keys[openid]
        assert Fernet(new_key).decrypt(value.encode()).decode() == f"session-key-{app_id}-{n}"
    details = audit.one().details
    assert (details["app_secrets"], details["session_keys"]) == (3, 4)

    # Again: nothing left to do, nothing changed.
    again = command("rotate_secrets_key")
    assert "AppSecrets: 0 re-encrypted, 3 under the newest key already" in again
    assert "session keys, every tenant: 0 re-encrypted, 4 under the newest key already" in again
    assert (stored_secrets(), stored_session_keys()) == (after, after_keys)

    # The old keys can go now: every value still reads, through the code that uses it.
    settings.TENANT_SECRETS_KEYS = [new_key]
    from accounts.models import MiniProgramUser

    for app_id in SESSION_TENANTS[:2]:
        assert secret_decrypt(Tenant.objects.get(app_id=app_id).app_secret_encrypted) == f"secret-{app_id}"
        with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
            assert MiniProgramUser.objects.get(openid=f"{app_id}-user-1").session_key == f"session-key-{app_id}-1"


def test_rotate_secrets_key_names_a_secret_no_key_reads_and_still_does_the_others(settings):
    from cryptography.fernet import Fernet

    lost_key = Fernet.generate_key()
    Tenant.objects.filter(app_id=TENANT_A).update(app_secret_encrypted=Fernet(lost_key).encrypt(b"x").decode())
    new_key = Fernet.generate_key().decode()
    settings.TENANT_SECRETS_KEYS = [new_key, *settings.TENANT_SECRETS_KEYS]
    before = stored_secrets()
    with pytest.raises(CommandError, match=f"no key in TENANT_SECRETS_KEYS reads {TENANT_A}"):
        command("rotate_secrets_key")
    after = stored_secrets()
    assert after[TENANT_A] == before[TENANT_A]
    for app_id in SESSION_TENANTS[1:]:
        assert Fernet(new_key).decrypt(after[app_id].encode())


@pytest.mark.slow
def test_a_command_run_as_a_real_process_is_audited_with_its_login():
    import os
    import pwd

    from tests.helpers import subprocess_env

    audit = AuditSince()
    env = subprocess_env(SSH_CONNECTION="2001:db8::7 40000 2001:db8::1 22")
    env.pop("SUDO_USER", None)
    result = run_manage("suspend_tenant", TENANT_A, env=env)
    assert result.returncode == 0, result.stderr
    found = audit.one()
    assert (found.action, found.app_id, found.door) == ("suspend", TENANT_A, "command")
    assert found.actor in (env.get("LOGNAME"), env.get("USER"), pwd.getpwuid(os.getuid()).pw_name)
    assert found.address == "2001:db8::7"
