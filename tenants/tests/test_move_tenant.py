"""manage.py move_tenant: a tenant's database moved to a second MariaDB server started by this module.

The second server is a private MariaDB (mariadb-install-db into a temporary folder, its own port), added to
this process's connections as the tenant database server "second", the way TENANT_DB_SERVERS configures one.
"""

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import MySQLdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connections
from django.test import Client
from environ import Env

from accounts.models import MiniProgramUser
from console.models import AuditEntry
from core.tenant_context import activate_tenant, tenant_db_alias, tenant_ddl_alias
from routers.databases import tenant_server_database
from tenants import cache
from tenants.models import Tenant
from tenants.moving import copy
from tenants.moving.services import _set_move
from tenants.selectors import tenant_context_for
from tenants.services import tenant_provision
from tests.e2e.services import PrivateMariaDB, private_mariadb
from tests.helpers import mysql_admin, mysql_rows

APP_ID = "wx00000000000000e1"
SECOND = "second"


@pytest.fixture(scope="module")
def second_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    with private_mariadb(Path(tmp_path_factory.mktemp("second-mariadb"))) as server:
        yield server


def _add_server(server: PrivateMariaDB) -> None:
    address = f"127.0.0.1:{server.port}"
    aliases = {
        tenant_db_alias(SECOND): tenant_server_database(
            SECOND, Env.db_url_config(f"mysql://miniplex_app:miniplex_app@{address}/"), conn_max_age=0
        ),
        tenant_ddl_alias(SECOND): tenant_server_database(
            SECOND, Env.db_url_config(f"mysql://miniplex_ddl:miniplex_ddl@{address}/"), conn_max_age=0
        ),
    }
    configured = connections.configure_settings({"default": connections.settings["default"], **aliases})
    for alias in aliases:
        connections.settings[alias] = configured[alias]


def _remove_server() -> None:
    for alias in (tenant_db_alias(SECOND), tenant_ddl_alias(SECOND)):
        connections[alias].close()
        del connections[alias]
        connections.settings.pop(alias)


@pytest.fixture
def servers(second_mariadb: PrivateMariaDB, settings, tenant_db: None) -> Iterator[PrivateMariaDB]:  # noqa: ANN001
    """main (the shared MariaDB) and second (the private one); a tenant of our own on main, with 2,500 users."""
    _add_server(second_mariadb)
    settings.TENANT_DB_SERVER_NAMES = [*settings.TENANT_DB_SERVER_NAMES, SECOND]
    settings.TENANT_LOCAL_CACHE_SECONDS = 0.2  # the move waits this bound before its freeze
    settings.TENANT_MOVE_IN_FLIGHT_SECONDS = 0
    AuditEntry.objects.filter(app_id=APP_ID).delete()
    tenant = tenant_provision(app_id=APP_ID, name="Moving ☕")
    with activate_tenant(tenant_context_for(tenant)):
        MiniProgramUser.objects.bulk_create(
            MiniProgramUser(openid=f"openid-{n}", nickname=f"user {n} 😀") for n in range(2500)
        )
    try:
        yield second_mariadb
    finally:
        row = Tenant.objects.filter(app_id=APP_ID).first()
        for server in ("main", SECOND):
            with copy.server_connection(server) as connection:
                copy.database_drop(connection, row.db_name if row else "")  # both copies, whatever was left
        if row is not None:
            row.delete()
        AuditEntry.objects.filter(app_id=APP_ID).delete()
        cache.clear_local()
        _remove_server()


def _tenant() -> Tenant:
    return Tenant.objects.get(app_id=APP_ID)


def _users(server: PrivateMariaDB | None, db_name: str) -> set[str]:
    """The openids in one copy, read with root's own connection (main: the shared server)."""
    if server is None:
        return {openid for (openid,) in mysql_rows(f"SELECT openid FROM `{db_name}`.accounts_miniprogramuser")}  # noqa: S608
    output = server.sql(f"SELECT openid FROM `{db_name}`.accounts_miniprogramuser")
    return set(output.split())


def _databases(server: PrivateMariaDB | None, db_name: str) -> bool:
    if server is None:
        return bool(mysql_rows("SHOW DATABASES LIKE %s", (db_name,)))
    return db_name in server.sql("SHOW DATABASES").split()


def _move(*args: str) -> str:
    out = io.StringIO()
    call_command("move_tenant", APP_ID, *args, stdout=out)
    return out.getvalue()


def test_a_move_copies_verifies_switches_and_finalize_drops_the_old_copy(servers: PrivateMariaDB) -> None:
    db_name = _tenant().db_name
    output = _move("--to", SECOND)

    assert "accounts_miniprogramuser" in output and "2500/2500" in output
    assert "DIFFERS" not in output and "freeze window:" in output
    tenant = _tenant()
    assert (tenant.db_server, tenant.move_state, tenant.move_from) == (SECOND, "switched", "main")
    assert _users(servers, db_name) == _users(None, db_name) == {f"openid-{n}" for n in range(2500)}
    # Served from the new copy: a write through the ORM lands on second only.
    with activate_tenant(tenant_context_for(tenant)):
        MiniProgramUser.objects.create(openid="openid-after-switch")
    assert "openid-after-switch" in _users(servers, db_name)
    # The old copy is kept and refuses every write, whoever makes it (here the runtime user, directly).
    with pytest.raises(MySQLdb.OperationalError, match="tenant_moving"):
        mysql_rows(f"DELETE FROM `{db_name}`.accounts_miniprogramuser")  # noqa: S608
    assert len(_users(None, db_name)) == 2500

    assert "FINALIZED" in _move("--finalize")
    assert not _databases(None, db_name) and _databases(servers, db_name)
    assert (_tenant().db_server, _tenant().move_state, _tenant().move_from) == (SECOND, "", "")
    actions = list(AuditEntry.objects.filter(app_id=APP_ID).order_by("id").values_list("action", "details"))
    assert [action for action, _ in actions] == ["move", "move_finalize"]
    assert actions[0][1]["from"] == "main" and actions[0][1]["to"] == SECOND and actions[0][1]["rows"] >= 2500


def test_abort_after_the_switch_copies_back_what_was_written_on_the_new_copy(servers: PrivateMariaDB) -> None:
    db_name = _tenant().db_name
    _move("--to", SECOND)
    with activate_tenant(tenant_context_for(_tenant())):
        MiniProgramUser.objects.create(openid="written-on-second")
        MiniProgramUser.objects.filter(openid="openid-7").update(nickname="changed on second")
        MiniProgramUser.objects.filter(openid="openid-8").delete()

    output = _move("--abort")

    assert "ABORTED" in output and "DIFFERS" not in output
    tenant = _tenant()
    assert (tenant.db_server, tenant.move_state, tenant.move_from, tenant.move_to) == ("main", "", "", "")
    assert not _databases(servers, db_name)
    with activate_tenant(tenant_context_for(tenant)):
        assert MiniProgramUser.objects.filter(openid="written-on-second").exists()
        assert MiniProgramUser.objects.get(openid="openid-7").nickname == "changed on second"
        assert not MiniProgramUser.objects.filter(openid="openid-8").exists()
        MiniProgramUser.objects.create(openid="writable-again")  # the old copy's freeze is gone
    assert list(AuditEntry.objects.filter(app_id=APP_ID).values_list("action", flat=True).order_by("id")) == [
        "move",
        "move_abort",
    ]


def test_a_move_that_fails_before_the_switch_puts_everything_back(servers: PrivateMariaDB, monkeypatch) -> None:  # noqa: ANN001
    db_name = _tenant().db_name

    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("the verification's server went away")

    monkeypatch.setattr(copy, "tables_compare", broken)
    with pytest.raises(OperationalError):
        _move("--to", SECOND)

    tenant = _tenant()
    assert (tenant.db_server, tenant.move_state, tenant.move_to) == ("main", "", "")
    assert not _databases(servers, db_name)
    with copy.server_connection("main") as connection:
        assert copy.frozen_triggers(connection, db_name) == []
    assert not AuditEntry.objects.filter(app_id=APP_ID).exists()


def test_abort_before_the_switch_drops_the_partial_copy_and_unfreezes_the_old_one(servers: PrivateMariaDB) -> None:
    tenant = _tenant()
    with copy.server_connection("main") as source, copy.server_connection(SECOND) as target:
        copy.target_prepare(target)
        tables = copy.tables_read(source, tenant.db_name)
        copy.schema_create(source, target, tenant.db_name, tables)
        copy.freeze_prepare(source, tenant.db_name, tables)
        copy.freeze(source, tenant.db_name)
    _set_move(tenant, move_state=Tenant.MoveState.FROZEN, move_from="main", move_to=SECOND)

    assert "served from main" in _move("--abort")

    assert not _databases(servers, tenant.db_name)
    assert _tenant().move_state == ""
    with activate_tenant(tenant_context_for(_tenant())):
        MiniProgramUser.objects.create(openid="writable-again")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["wx00000000000000ee", "--to", SECOND], "tenant_not_found"),
        ([APP_ID, "--to", "elsewhere"], "unknown_database_server"),
        ([APP_ID, "--to", "main"], "move_same_server"),
        ([APP_ID, "--finalize"], "no_move_in_progress"),
        ([APP_ID, "--abort"], "no_move_in_progress"),
        (["not-an-app-id", "--to", SECOND], "app_id_invalid"),
    ],
)
def test_bad_input_is_a_clear_error_that_changes_nothing(servers: PrivateMariaDB, args: list[str], code: str) -> None:
    before = Tenant.objects.values().get(app_id=APP_ID)
    with pytest.raises(CommandError, match=code):
        call_command("move_tenant", *args, stdout=io.StringIO())
    assert Tenant.objects.values().get(app_id=APP_ID) == before
    assert not _databases(servers, before["db_name"])
    assert not AuditEntry.objects.filter(app_id=APP_ID).exists()


def test_a_second_move_while_one_is_under_way_is_refused(servers: PrivateMariaDB) -> None:
    tenant = _tenant()
    _set_move(tenant, move_state=Tenant.MoveState.COPYING, move_from="main", move_to=SECOND)
    before = Tenant.objects.values().get(app_id=APP_ID)
    with pytest.raises(CommandError, match="move_in_progress"):
        _move("--to", SECOND)
    with pytest.raises(CommandError, match="move_not_switched"):
        _move("--finalize")
    assert Tenant.objects.values().get(app_id=APP_ID) == before
    assert not AuditEntry.objects.filter(app_id=APP_ID).exists()


def test_a_database_left_on_the_target_is_refused(servers: PrivateMariaDB) -> None:
    db_name = _tenant().db_name
    servers.sql(f"CREATE DATABASE `{db_name}`")
    with pytest.raises(CommandError, match="move_target_exists"):
        _move("--to", SECOND)
    assert _tenant().move_state == ""


def test_during_the_freeze_writes_get_503_tenant_moving_and_reads_are_served(servers: PrivateMariaDB) -> None:
    tenant = _tenant()
    _set_move(tenant, move_state=Tenant.MoveState.FROZEN, move_from="main", move_to=SECOND)
    client = Client(headers={"X-AppID": APP_ID})

    refused = client.patch("/api/v1/me", data={"nickname": "x"}, content_type="application/json")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "tenant_moving"
    assert int(refused["Retry-After"]) >= 1
    assert client.post("/api/v1/auth/login", data={"code": "c"}).json()["error"]["code"] == "tenant_moving"
    assert client.get("/api/v1/ping").status_code == 200

    _set_move(tenant, move_state=Tenant.MoveState.COPYING)
    assert client.patch("/api/v1/me", data={}, content_type="application/json").status_code == 401  # served again


def test_a_moving_tenants_entry_is_never_copied_locally(servers: PrivateMariaDB) -> None:
    tenant = _tenant()
    Client(headers={"X-AppID": APP_ID}).get("/api/v1/ping")
    assert cache.local_get(APP_ID)[0]
    _set_move(tenant, move_state=Tenant.MoveState.COPYING, move_from="main", move_to=SECOND)
    Client(headers={"X-AppID": APP_ID}).get("/api/v1/ping")
    assert not cache.local_get(APP_ID)[0]  # each lookup asks Redis: the freeze is seen at the next request


def test_the_snapshot_copy_sees_one_moment_while_writes_go_on(servers: PrivateMariaDB) -> None:
    """Rows written after the snapshot started are not in the first copy; the chunk pass copies them."""
    tenant = _tenant()
    with copy.server_connection("main") as source, copy.server_connection(SECOND) as target:
        copy.target_prepare(target)
        tables = copy.tables_read(source, tenant.db_name)
        copy.schema_create(source, target, tenant.db_name, tables)
        lines: list[str] = []

        def write_during_copy(line: str) -> None:
            lines.append(line)
            with activate_tenant(tenant_context_for(tenant)):
                MiniProgramUser.objects.create(openid=f"during-{len(lines)}")

        copy.snapshot_copy(source, target, tenant.db_name, tables, write_during_copy)
        assert not any(name.startswith("during-") for name in _users(servers, tenant.db_name))
        chunks, rows = copy.chunks_sync(source, target, tenant.db_name, tables)
        assert chunks >= 1 and rows >= 1
        assert all(check.equal for check in copy.tables_compare(source, target, tenant.db_name, tables))
        assert copy.chunks_sync(source, target, tenant.db_name, tables) == (0, 0)
    assert _users(servers, tenant.db_name) == _users(None, tenant.db_name)


def test_the_freeze_waits_for_a_write_in_flight_and_refuses_every_write_after_it(servers: PrivateMariaDB) -> None:
    """The one UPDATE of the freeze returns only once a transaction that wrote has ended (its write is kept),
    and a write made after it is refused, whoever makes it."""
    tenant = _tenant()
    qualified = f"`{tenant.db_name}`.accounts_miniprogramuser"
    writer = mysql_admin()
    try:
        with copy.server_connection("main") as mover:
            tables = copy.tables_read(mover, tenant.db_name)
            copy.freeze_prepare(mover, tenant.db_name, tables)
            writer.cursor().execute(f"UPDATE {qualified} SET nickname = 'in flight' WHERE openid = 'openid-1'")  # noqa: S608
            freezing = threading.Thread(target=copy.freeze, args=(mover, tenant.db_name))
            freezing.start()
            freezing.join(timeout=1.0)
            assert freezing.is_alive()  # waiting for the transaction in flight
            writer.commit()
            freezing.join(timeout=20)
            assert not freezing.is_alive()
            with pytest.raises(MySQLdb.OperationalError, match="tenant_moving"):
                writer.cursor().execute(f"UPDATE {qualified} SET nickname = 'after' WHERE openid = 'openid-2'")  # noqa: S608
            writer.rollback()  # its transaction holds the table's metadata lock, which DROP TRIGGER waits for
            copy.unfreeze(mover, tenant.db_name)
    finally:
        writer.rollback()  # an open transaction would hold the database's metadata lock past the test
        writer.close()
    rows = dict(mysql_rows(f"SELECT openid, nickname FROM {qualified} WHERE openid IN ('openid-1', 'openid-2')"))  # noqa: S608
    assert rows == {"openid-1": "in flight", "openid-2": "user 2 😀"}


def test_armed_triggers_note_the_chunks_written_and_refuse_nothing_before_the_freeze(servers: PrivateMariaDB) -> None:
    """The pass under the freeze compares only the chunks noted: an insert is noted under its new id's chunk."""
    tenant = _tenant()
    with copy.server_connection("main") as mover:
        tables = copy.tables_read(mover, tenant.db_name)
        copy.freeze_prepare(mover, tenant.db_name, tables)
        with activate_tenant(tenant_context_for(tenant)):
            created = MiniProgramUser.objects.create(openid="noted")  # served: nothing is refused yet
            deleted_pk = MiniProgramUser.objects.get(openid="openid-5").pk
            MiniProgramUser.objects.filter(pk=deleted_pk).delete()
        index = [table.name for table in tables].index("accounts_miniprogramuser")
        noted = copy.changed_chunks(mover, tenant.db_name)[index]
        copy.unfreeze(mover, tenant.db_name)
    assert {created.pk // copy.CHUNK_ROWS, deleted_pk // copy.CHUNK_ROWS} <= noted
    assert created.pk // copy.CHUNK_ROWS != 0  # (a BEFORE INSERT trigger would have noted chunk 0)
