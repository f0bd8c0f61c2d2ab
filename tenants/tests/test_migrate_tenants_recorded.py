"""migrate_tenants trusts Tenant.schema_fingerprint: a tenant recorded up to date is not read, unless --verify."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tenants import services
from tenants.models import Tenant
from tenants.schema import tenant_migration_keys, tenant_schema_fingerprint
from tests.helpers import SESSION_TENANTS, mysql_rows

pytestmark = pytest.mark.usefixtures("tenant_db")
RECORDED = "wx00000000000000f1"
STALE = "wx00000000000000f2"


def _db(app_id: str) -> str:
    return f"{settings.TENANT_DB_PREFIX}{app_id}"


def _migrate_tenants(*args: str) -> str:
    out = StringIO()
    call_command("migrate_tenants", *args, stdout=out)
    return out.getvalue()


def _fingerprint(app_id: str) -> str:
    return Tenant.objects.get(app_id=app_id).schema_fingerprint


def _take_back_before_the_outbox(app_id: str) -> None:
    mysql_rows(f"DROP TABLE `{_db(app_id)}`.outbox_outboxjob")
    mysql_rows(f"DELETE FROM `{_db(app_id)}`.django_migrations WHERE app='outbox'")


def test_a_recorded_tenant_is_not_read_and_verify_reads_it():
    services.tenant_provision(app_id=RECORDED, name="Recorded")
    assert _fingerprint(RECORDED) == tenant_schema_fingerprint()
    # Reading this tenant's history now fails (and migrating it would too): only a skip passes.
    mysql_rows(f"DROP TABLE `{_db(RECORDED)}`.django_migrations")

    output = _migrate_tenants()
    assert f"{RECORDED}: up to date" in output
    assert f"{len(SESSION_TENANTS) + 1} tenant(s) migrated" in output

    with pytest.raises(CommandError, match="1 of 4 tenant"):
        _migrate_tenants("--verify")


def test_verify_finds_what_a_restore_took_back_and_migrates_it():
    services.tenant_provision(app_id=RECORDED, name="Recorded")
    _take_back_before_the_outbox(RECORDED)  # a backup of before the outbox restored: the record cannot know
    assert f"{RECORDED}: up to date" in _migrate_tenants(RECORDED)

    assert f"{RECORDED}: applied 1 (outbox.0001_initial)" in _migrate_tenants("--verify", RECORDED)
    assert mysql_rows(f"SHOW TABLES IN `{_db(RECORDED)}` LIKE 'outbox_outboxjob'")


def test_stale_tenants_are_checked_migrated_and_recorded():
    services.tenant_provision(app_id=RECORDED, name="Up to date, recorded by an older release")
    services.tenant_provision(app_id=STALE, name="Behind")
    _take_back_before_the_outbox(STALE)
    Tenant.objects.filter(app_id__in=[RECORDED, STALE]).update(schema_fingerprint="0123456789ab")

    output = _migrate_tenants("--parallel", "2")
    assert f"{RECORDED}: up to date" in output
    assert f"{STALE}: applied 1 (outbox.0001_initial)" in output
    assert _fingerprint(RECORDED) == _fingerprint(STALE) == tenant_schema_fingerprint()
    assert tenant_migration_keys() <= set(mysql_rows(f"SELECT app, name FROM `{_db(STALE)}`.django_migrations"))


def test_a_failed_tenant_is_not_recorded():
    services.tenant_provision(app_id=STALE, name="Gone")
    mysql_rows(f"DROP DATABASE `{_db(STALE)}`")
    Tenant.objects.filter(app_id=STALE).update(schema_fingerprint="")

    with pytest.raises(CommandError, match="1 of 4 tenant"):
        _migrate_tenants()
    assert _fingerprint(STALE) == ""


def test_only_this_environments_rows_are_read_and_recorded():
    other = Tenant.all_environments.create(
        environment="elsewhere", app_id=STALE, name="Other environment's", db_server="main", db_name="mp_elsewhere_x"
    )
    try:
        _migrate_tenants()
        other.refresh_from_db()
        assert other.schema_fingerprint == ""
    finally:
        Tenant.all_environments.filter(pk=other.pk).delete()
