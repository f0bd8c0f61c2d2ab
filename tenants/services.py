"""Writes to the tenant registry and the tenant databases: provision, onboard, suspend, resume, rotate, drop."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction

from core.cache import tenant_scope_delete
from core.tenant_context import tenant_ddl_alias
from routers.backends.tenant import TenantServerMixin, tenant_server
from tenants import cache
from tenants.activity import tenant_activity_forget
from tenants.app_ids import app_id_validate, tenant_db_name
from tenants.exceptions import (
    DatabaseNameTaken,
    RetireNotConfirmed,
    TenantExists,
    TenantNotFound,
    TenantNotReady,
    UnknownDatabaseServer,
)
from tenants.models import Tenant
from tenants.schema_template import tenant_schema_provision
from tenants.secret_check import secret_check
from tenants.secrets import secret_encrypt
from tenants.selectors import tenant_get

logger = logging.getLogger(__name__)


def _server_ddl(server: str) -> TenantServerMixin:
    return tenant_server(tenant_ddl_alias(server))


def tenant_provision(*, app_id: str, name: str, server: str | None = None, app_secret: str | None = None) -> Tenant:
    """Registers a tenant, creates and migrates its database. Safe to re-run: it completes what is missing.

    The row is written first (status provisioning, invisible to requests), so a re-run after a failure
    half-way finds the server and database it chose, and the database is only ever created IF NOT EXISTS.
    An empty database gets its schema replayed from the server's template (tenants.schema_template); one that
    already has tables (a re-run) is migrated.
    """
    app_id = app_id_validate(app_id)
    server = _checked_server(server)
    found = Tenant.objects.filter(app_id=app_id).first()
    created = found is None
    tenant = found or Tenant.objects.create(
        app_id=app_id, name=name, db_server=server, db_name=_checked_db_name(app_id)
    )
    if not created and tenant.name != name:
        tenant.name = name
        tenant.save(update_fields=["name", "updated_at"])
    if app_secret:
        tenant_set_secret(tenant=tenant, app_secret=app_secret)
    _server_ddl(tenant.db_server).create_tenant_database(tenant.db_name)
    tenant_schema_provision(tenant=tenant)
    if tenant.status == Tenant.Status.PROVISIONING:
        _set_status(tenant, Tenant.Status.ACTIVE)
    logger.info("tenant %s provisioned on %s/%s", app_id, tenant.db_server, tenant.db_name)
    return tenant


def _checked_server(server: str | None) -> str:
    server = server or settings.TENANT_DB_DEFAULT_SERVER
    if server not in settings.TENANT_DB_SERVER_NAMES:
        raise UnknownDatabaseServer(f"No tenant database server is named {server!r}.")
    return server


def _checked_db_name(app_id: str) -> str:
    """The new tenant's database name, unless another environment sharing the control database has it."""
    db_name = tenant_db_name(app_id)
    if Tenant.all_environments.filter(db_name=db_name).exists():
        # This environment has no row for the AppID (checked first), so the name is another environment's.
        raise DatabaseNameTaken()
    return db_name


def tenant_onboard(*, app_id: str, name: str, server: str | None = None, app_secret: str | None = None) -> Tenant:
    """Registers a new tenant at once and provisions its database in a platform job (tenant.provisioning_job_id).

    A duplicate AppID is refused (TenantExists); `create_tenant` is the command that completes a half-made one.
    An AppSecret, when given, is checked against WeChat first (SecretRejected says what to fix).
    """
    from tenants.jobs import enqueue

    app_id = app_id_validate(app_id)
    server = _checked_server(server)
    if Tenant.objects.filter(app_id=app_id).exists():
        raise TenantExists()
    db_name = _checked_db_name(app_id)
    if app_secret:
        secret_check(app_id=app_id, app_secret=app_secret)
    secret = secret_encrypt(app_secret) if app_secret else ""
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(
                app_id=app_id, name=name, db_server=server, db_name=db_name, app_secret_encrypted=secret
            )
            # Enqueued when this transaction commits, so the job always finds its row.
            tenant.provisioning_job_id = enqueue(provision_tenant_job, platform=True, app_id=app_id)
            tenant.save(update_fields=["provisioning_job_id"])
    except IntegrityError:
        raise TenantExists() from None
    logger.info("tenant %s registered on %s; provisioning job %s", app_id, server, tenant.provisioning_job_id)
    return tenant


def provision_tenant_job(*, app_id: str) -> dict[str, str]:
    """The platform job of tenant_onboard: runs tenant_provision for the row it registered; safe to retry (it
    completes the work)."""
    tenant = tenant_get(app_id=app_id)
    tenant = tenant_provision(app_id=tenant.app_id, name=tenant.name, server=tenant.db_server)
    return {"app_id": tenant.app_id, "status": tenant.status}


def tenant_rotate_secret(*, app_id: str, app_secret: str) -> Tenant:
    """Stores a new AppSecret once WeChat has accepted it (a token fetched with it); the old one stays otherwise."""
    tenant = tenant_get(app_id=app_id)
    secret_check(app_id=tenant.app_id, app_secret=app_secret)
    tenant_set_secret(tenant=tenant, app_secret=app_secret)
    logger.info("tenant %s: AppSecret rotated", tenant.app_id)
    return tenant


def tenant_set_secret(*, tenant: Tenant, app_secret: str) -> None:
    tenant.app_secret_encrypted = secret_encrypt(app_secret)
    tenant.save(update_fields=["app_secret_encrypted", "updated_at"])


def _set_status(tenant: Tenant, status: str) -> Tenant:
    def apply(row: Tenant, version: int) -> None:
        row.status, row.version = status, version
        row.save(update_fields=["status", "version", "updated_at"])
        tenant.status, tenant.version = status, version

    _announced_change(tenant, apply)
    return tenant


def _announced_change(tenant: Tenant, apply: Callable[[Tenant, int], None]) -> None:
    """Runs `apply(row, version)` on the locked row, in a transaction, with the change announced to the caches.

    The announcement (tenants.cache.announce, before the commit) cannot be written over by any entry read
    before it, and fails when Redis does not answer: then the transaction rolls back and nothing changes
    (503 / exit 1), rather than a change that other processes' caches might miss. A change that announced
    and then did not commit withdraws its announcement.
    """
    announced: int | None = None
    try:
        with transaction.atomic():
            row = Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
            if row is None:
                raise TenantNotFound()  # dropped meanwhile by another process
            announced = cache.announce(app_id=row.app_id, version=row.version + 1)
            apply(row, announced)
    except BaseException:
        if announced is not None:
            cache.withdraw(app_id=tenant.app_id, version=announced)
        raise
    cache.forget_local(tenant.app_id)


def tenant_suspend(*, app_id: str) -> Tenant:
    return _set_status(tenant_get(app_id=app_id), Tenant.Status.SUSPENDED)


def tenant_resume(*, app_id: str) -> Tenant:
    tenant = tenant_get(app_id=app_id)
    if tenant.status == Tenant.Status.PROVISIONING:
        # Its database may not exist yet: the provisioning job makes it active when it is done.
        raise TenantNotReady()
    return _set_status(tenant, Tenant.Status.ACTIVE)


def tenant_drop(*, app_id: str) -> None:
    """Drops the tenant's database, its registry row, its cached entries and its jobs."""
    from tenants.jobs import jobs_purge_for_tenant

    tenant = tenant_get(app_id=app_id)
    # Suspended first, so no request is served from a database that is going away (and no job runs on it).
    _set_status(tenant, Tenant.Status.SUSPENDED)
    jobs_purge_for_tenant(app_id=tenant.app_id)
    _server_ddl(tenant.db_server).drop_tenant_database(tenant.db_name)
    _announced_change(tenant, _delete_row)
    tenant_scope_delete(app_id=app_id)  # throttle counts and anything else cached under the tenant's AppID
    tenant_activity_forget(app_id=app_id)
    logger.info("tenant %s dropped (%s/%s)", app_id, tenant.db_server, tenant.db_name)


def _delete_row(row: Tenant, version: int) -> None:
    row.delete()  # the announced version lives on in the tombstone, and in the negative entry after it


def tenant_retire(*, app_id: str, confirm_app_id: str) -> None:
    """tenant_drop, once the AppID has been typed again: retiring deletes the tenant's data for good."""
    if confirm_app_id.strip() != app_id:
        raise RetireNotConfirmed()
    tenant_drop(app_id=app_id)
