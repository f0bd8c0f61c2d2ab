"""Migrating tenant databases: the tenant apps' migrations, run with the DDL credentials of the server."""

from functools import lru_cache

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from core.tenant_context import activate_tenant, tenant_ddl_alias
from routers.router import is_tenant_app
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

MigrationKey = tuple[str, str]


@lru_cache(maxsize=1)
def tenant_migration_keys() -> frozenset[MigrationKey]:
    """Every migration of the tenant apps that exists on disk (read once per process)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return frozenset(key for key in graph.nodes if is_tenant_app(key[0]))


def tenant_schema_migrate(*, tenant: Tenant) -> list[str]:
    """Applies what the tenant's database lacks; returns the migrations applied (none when up to date)."""
    with activate_tenant(tenant_context_for(tenant)):
        connection = connections[tenant_ddl_alias(tenant.db_server)]
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
