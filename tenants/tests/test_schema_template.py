"""A new tenant's schema replayed from the server's template: the same database as migrations make, faster."""

import re
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections

from core.tenant_context import tenant_ddl_alias
from tenants import schema, schema_template, services
from tenants.exceptions import AppIdInvalid
from tenants.models import Tenant
from tenants.schema import tenant_migration_keys, tenant_schema_fingerprint
from tests.helpers import mysql_rows

pytestmark = pytest.mark.usefixtures("tenant_db")
REPLAYED = "wx00000000000000d1"
MIGRATED = "wx00000000000000d2"
OTHERS = ["wx00000000000000d3", "wx00000000000000d4", "wx00000000000000d5"]


def _db(app_id: str) -> str:
    return f"{settings.TENANT_DB_PREFIX}{app_id}"


@pytest.fixture
def modes(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """How each tenant provisioned in the test got its schema ("replayed" or "migrated")."""
    seen: dict[str, str] = {}
    original = services.tenant_schema_provision

    def spy(*, tenant: Tenant) -> str:
        seen[tenant.app_id] = original(tenant=tenant)
        return seen[tenant.app_id]

    monkeypatch.setattr(services, "tenant_schema_provision", spy)
    return seen


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The templates built during the test (slowed down, so that concurrent provisions overlap)."""
    built: list[str] = []
    original = schema_template._build

    def spy(backend, server, db_name):  # noqa: ANN001, ANN202
        built.append(db_name)
        time.sleep(0.3)
        original(backend, server, db_name)

    monkeypatch.setattr(schema_template, "_build", spy)
    return built


@pytest.fixture
def fresh_fingerprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A fingerprint of this test only (so its template is built here), and its templates dropped afterwards."""
    used: list[str] = []

    def use(fingerprint: str) -> None:
        used.append(fingerprint)
        monkeypatch.setattr(schema, "tenant_schema_fingerprint", lambda: fingerprint)

    use(uuid.uuid4().hex[:12])
    schema_template.schema_template_forget()
    yield used
    schema_template.schema_template_forget()
    for fingerprint in used:
        mysql_rows(f"DROP DATABASE IF EXISTS `{schema_template.schema_template_name(fingerprint)}`")


def _use_fingerprint(monkeypatch: pytest.MonkeyPatch, used: list[str], fingerprint: str) -> None:
    used.append(fingerprint)
    monkeypatch.setattr(schema, "tenant_schema_fingerprint", lambda: fingerprint)


def _schema(db_name: str) -> dict[str, str]:
    tables = [name for (name,) in mysql_rows(f"SHOW TABLES FROM `{db_name}`")]
    return {
        table: re.sub(r" AUTO_INCREMENT=\d+", "", mysql_rows(f"SHOW CREATE TABLE `{db_name}`.`{table}`")[0][1])
        for table in tables
    }


def _migrations(db_name: str) -> list[tuple[str, str]]:
    return sorted(mysql_rows(f"SELECT app, name FROM `{db_name}`.django_migrations"))


def _other_rows(db_name: str) -> dict[str, int]:
    return {
        table: mysql_rows(f"SELECT COUNT(*) FROM `{db_name}`.`{table}`")[0][0]
        for table in _schema(db_name)
        if table != "django_migrations"
    }


def _complete(db_name: str) -> bool:
    return tenant_migration_keys() <= set(_migrations(db_name))


def test_a_replayed_database_is_the_database_migrations_make(modes, monkeypatch):
    services.tenant_provision(app_id=REPLAYED, name="Replayed")
    with monkeypatch.context() as patch:
        patch.setattr(schema_template, "_replay", lambda tenant, fingerprint: False)
        services.tenant_provision(app_id=MIGRATED, name="Migrated")
    assert modes == {REPLAYED: "replayed", MIGRATED: "migrated"}

    replayed, migrated = _schema(_db(REPLAYED)), _schema(_db(MIGRATED))
    assert len(replayed) > 10
    assert replayed == migrated
    assert _migrations(_db(REPLAYED)) == _migrations(_db(MIGRATED))
    assert _complete(_db(REPLAYED))
    assert _other_rows(_db(REPLAYED)) == _other_rows(_db(MIGRATED))
    for app_id in (REPLAYED, MIGRATED):
        tenant = Tenant.objects.get(app_id=app_id)
        assert (tenant.status, tenant.schema_fingerprint) == ("active", tenant_schema_fingerprint())


def test_the_template_is_built_once_per_fingerprint_and_again_when_incomplete(
    modes, builds, fresh_fingerprint, monkeypatch
):
    first = schema_template.schema_template_name(fresh_fingerprint[0])
    services.tenant_provision(app_id=OTHERS[0], name="One")
    services.tenant_provision(app_id=OTHERS[1], name="Two")
    assert builds == [first]

    # Another process (an empty cache) uses the template the first one built.
    schema_template.schema_template_forget()
    services.tenant_provision(app_id=OTHERS[2], name="Three")
    assert builds == [first]

    # New migrations on disk: a new fingerprint, a new template.
    _use_fingerprint(monkeypatch, fresh_fingerprint, uuid.uuid4().hex[:12])
    second = schema_template.schema_template_name(fresh_fingerprint[1])
    services.tenant_provision(app_id=REPLAYED, name="Four")
    assert builds == [first, second]

    # A template left incomplete (a build that crashed half-way) is built again.
    mysql_rows(f"DELETE FROM `{second}`.django_migrations WHERE app='outbox'")
    schema_template.schema_template_forget()
    services.tenant_provision(app_id=MIGRATED, name="Five")
    assert builds == [first, second, second]
    assert set(modes.values()) == {"replayed"}, modes
    for app_id in (*OTHERS, REPLAYED, MIGRATED):
        assert _complete(_db(app_id)), app_id
    assert Tenant.objects.get(app_id=MIGRATED).schema_fingerprint == fresh_fingerprint[1]


def test_two_provisions_at_once_build_one_template(modes, builds, fresh_fingerprint):
    errors: list[BaseException] = []

    def provision(app_id: str) -> None:
        try:
            services.tenant_provision(app_id=app_id, name=app_id)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=provision, args=(app_id,)) for app_id in OTHERS[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert builds == [schema_template.schema_template_name(fresh_fingerprint[0])]
    assert modes == dict.fromkeys(OTHERS[:2], "replayed")
    for app_id in OTHERS[:2]:
        assert _complete(_db(app_id))


@pytest.mark.parametrize(
    ("kind", "create"),
    [
        ("view", "CREATE VIEW `{template}`.a_view AS SELECT 1 AS one"),
        (
            "trigger",
            "CREATE TRIGGER `{template}`.a_trigger BEFORE INSERT ON `{template}`.django_migrations "
            "FOR EACH ROW SET NEW.app = NEW.app",
        ),
        ("routine", "CREATE FUNCTION `{template}`.a_routine() RETURNS INT DETERMINISTIC RETURN 1"),
    ],
)
def test_a_template_with_more_than_tables_is_not_replayed(modes, fresh_fingerprint, kind, create):
    services.tenant_provision(app_id=OTHERS[0], name="One")
    template = schema_template.schema_template_name(fresh_fingerprint[0])
    mysql_rows(create.format(template=template))
    schema_template.schema_template_forget()

    services.tenant_provision(app_id=OTHERS[1], name="Two")
    assert modes == {OTHERS[0]: "replayed", OTHERS[1]: "migrated"}, kind
    assert "a_view" not in _schema(_db(OTHERS[1]))
    assert not mysql_rows("SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (_db(OTHERS[1]),))
    assert _complete(_db(OTHERS[1]))


def test_a_backend_other_than_mysql_migrates(modes, monkeypatch):
    # The SQLite backend of `./dev serve` has no server connection to replay with.
    monkeypatch.setattr(connections[tenant_ddl_alias(settings.TENANT_DB_DEFAULT_SERVER)], "vendor", "sqlite")
    services.tenant_provision(app_id=OTHERS[0], name="One")
    assert modes == {OTHERS[0]: "migrated"}
    assert _complete(_db(OTHERS[0]))


def test_a_rerun_on_a_database_with_tables_migrates_what_it_lacks(modes):
    services.tenant_provision(app_id=OTHERS[0], name="One")
    db_name = _db(OTHERS[0])
    mysql_rows(f"DROP TABLE `{db_name}`.outbox_outboxjob")
    mysql_rows(f"DELETE FROM `{db_name}`.django_migrations WHERE app='outbox'")

    services.tenant_provision(app_id=OTHERS[0], name="One")
    assert modes == {OTHERS[0]: "migrated"}
    assert "outbox_outboxjob" in _schema(db_name)
    assert _complete(db_name)


def test_the_template_can_never_be_a_tenant_database(settings):
    settings.TENANT_APP_ID_PATTERN = r"[A-Za-z0-9_]+"  # even the most permissive pattern
    name = schema_template.schema_template_name(tenant_schema_fingerprint())
    assert name.startswith(settings.TENANT_DB_PREFIX)
    assert len(name) <= 64
    with pytest.raises(AppIdInvalid):  # longer than any AppID may be
        services.tenant_provision(app_id=name[len(settings.TENANT_DB_PREFIX) :], name="Impostor")
    assert not Tenant.objects.filter(db_name=name).exists()
