"""Migrating tenant databases: the tenant apps' migrations, run with the DDL credentials of the server."""

import hashlib
from functools import lru_cache

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from core.tenant_context import TenantContext, activate_tenant, tenant_ddl_alias
from routers.router import is_tenant_app
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

MigrationKey = tuple[str, str]


@lru_cache(maxsize=1)
def tenant_migration_keys() -> frozenset[MigrationKey]:
    """Every migration of the tenant apps that exists on disk (read once per process)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return frozenset(key for key in graph.nodes if is_tenant_app(key[0]))


def tenant_schema_fingerprint() -> str:
    """A short hash of the tenant migration set on disk: what Tenant.schema_fingerprint and the templates record."""
    text = "\n".join(f"{app}.{name}" for app, name in sorted(tenant_migration_keys()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tenant_schema_record(*, tenant: Tenant, fingerprint: str) -> None:
    """Records that the tenant's database has every migration of `fingerprint` (no cache follows this field)."""
    Tenant.objects.filter(pk=tenant.pk).update(schema_fingerprint=fingerprint)
    tenant.schema_fingerprint = fingerprint


def tenant_schema_migrate(*, tenant: Tenant) -> list[str]:
    """Applies what the tenant's database lacks; returns the migrations applied (none when up to date)."""
    fingerprint = tenant_schema_fingerprint()
    applied = schema_migrate_database(tenant_context_for(tenant))
    tenant_schema_record(tenant=tenant, fingerprint=fingerprint)
    return applied


def schema_migrate_database(context: TenantContext) -> list[str]:
    """Django's migrations on one database of a tenant server (a tenant's, or the schema template's)."""
    with activate_tenant(context):
        connection = connections[tenant_ddl_alias(context.server)]
        try:
            # The cheap check: one look at django_migrations, no migration graph built.
            if tenant_migration_keys() <= set(MigrationRecorder(connection).applied_migrations()):
                return []
            executor = MigrationExecutor(connection)
            targets = [key for key in executor.loader.graph.leaf_nodes() if is_tenant_app(key[0])]
            plan = executor.migration_plan(targets)
            executor.migrate(targets, plan=plan)
            return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        finally:
            connection.close()
