"""`manage.py migrate_tenants [APP_ID ...] [--parallel N] [--verify]`: the tenant apps' migrations, every tenant.

Built for thousands of tenants (benchmarks/tenants10k.py measured 10,000):

- **A recorded schema is not read again.** Reading a tenant's django_migrations makes MariaDB open its table
  (~25 ms per tenant once there are more tables than its table caches hold: 2 minutes for 5,000 tenants).
  Tenant.schema_fingerprint records the migration set each database was last found or made up to date with
  (provisioning, this command); a tenant whose record is the current fingerprint is up to date without a
  look at its database (one query on the control database for all of them). `--verify` reads every tenant's
  database, as after a restore from a backup or a `migrate` run by hand, which the record cannot know of.
- **Nothing to do is cheap.** Every tenant's django_migrations is read first over one connection per database
  server, one SELECT each by its qualified name (`mp_x`.django_migrations): no connection set-up, no `USE`,
  no migration graph per tenant. Only the tenants that lack something (or whose table cannot be read) go on to
  tenants.schema.tenant_schema_migrate, which also reports their failures. The statement is the platform's own
  (raw SQL on the DDL credentials, database name through the allow-list), never a tenant app's.
- **The same migration on many tenants renders the models once.** Django's executor builds the project state
  of the applied migrations and renders every model before the first migration it applies: most of a tenant's
  time. Tenants with the same applied migrations share that state here (a rendered copy, cloned per tenant).
- **The migration files are read once.** Django's MigrationLoader imports every migration module again (a
  `reload`) each time it is made, which is once per tenant: a third of a tenant's time in a profile of 5,000.
  Here the modules are read once per command and the loader of each tenant only reads what its database applied.
"""

import threading
from argparse import ArgumentParser
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from core.tenant_context import activate_tenant, tenant_ddl_alias
from routers.backends.tenant import quote_database_name, tenant_server
from routers.router import is_tenant_app
from tenants.models import Tenant
from tenants.schema import MigrationKey, tenant_migration_keys, tenant_schema_fingerprint, tenant_schema_migrate
from tenants.selectors import tenant_context_for, tenant_list


def _migrate_one(tenant: Tenant, states: "RenderedStates") -> tuple[bool, str]:
    """(ok, line) for one tenant; a failure is reported, not raised, so the others still run."""
    try:
        applied = _migrate_with_shared_state(tenant, states)
    except Exception as error:  # noqa: BLE001 - any failure of one tenant must not stop the others
        return False, f"{tenant.app_id}: FAILED {type(error).__name__}: {error}"
    if not applied:
        return True, f"{tenant.app_id}: up to date"
    return True, f"{tenant.app_id}: applied {len(applied)} ({', '.join(applied)})"


class RenderedStates:
    """Project states of applied migrations, rendered once per set of applied migrations (shared by threads)."""

    def __init__(self) -> None:
        self._states: dict[frozenset[MigrationKey], ProjectState] = {}
        self._lock = threading.Lock()

    def for_executor(self, executor: MigrationExecutor) -> ProjectState:
        applied = frozenset(executor.loader.applied_migrations)
        with self._lock:
            state = self._states.get(applied)
            if state is None:
                # Django's own step of migrate() (private, stable since 1.8), taken out so it runs once.
                state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
                state.apps  # noqa: B018 - renders the models now, once, instead of in every tenant's migrate()
                self._states[applied] = state
            return state.clone()


class _FilesReadOnceLoader(MigrationLoader):
    """A MigrationLoader whose migration files are read (imported) once per process, not once per tenant."""

    _disk: tuple[dict, set, set] | None = None
    _disk_lock = threading.Lock()

    def load_disk(self) -> None:
        with self._disk_lock:
            if _FilesReadOnceLoader._disk is None:
                super().load_disk()
                _FilesReadOnceLoader._disk = (self.disk_migrations, self.unmigrated_apps, self.migrated_apps)
            disk, unmigrated, migrated = _FilesReadOnceLoader._disk
        # Copies of the containers (build_graph changes them); the Migration objects are shared, read only.
        self.disk_migrations, self.unmigrated_apps, self.migrated_apps = dict(disk), set(unmigrated), set(migrated)


class _Executor(MigrationExecutor):
    """Django's executor on _FilesReadOnceLoader (MigrationExecutor.__init__ does only this, with its own loader)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.loader = _FilesReadOnceLoader(connection)
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = None


def _migrate_with_shared_state(tenant: Tenant, states: RenderedStates) -> list[str]:
    """tenant_schema_migrate's work, with the pre-migration state from `states`; the migrations applied."""
    with activate_tenant(tenant_context_for(tenant)):
        connection = connections[tenant_ddl_alias(tenant.db_server)]
        try:
            executor = _Executor(connection)
            targets = [key for key in executor.loader.graph.leaf_nodes() if is_tenant_app(key[0])]
            plan = executor.migration_plan(targets)
            if not plan:
                return []
            if any(backwards for _migration, backwards in plan):
                return tenant_schema_migrate(tenant=tenant)  # not a plain forward plan: Django's own way
            executor.migrate(targets, plan=plan, state=states.for_executor(executor))
            return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        finally:
            connection.close()


def tenants_up_to_date(tenants: Iterable[Tenant]) -> set[str]:
    """AppIDs of the tenants whose django_migrations records every tenant migration on disk.

    One connection per server (the DDL alias's, no database selected) and one SELECT per tenant. A tenant
    whose table cannot be read is left out: the full path migrates it or reports why it cannot.
    """
    wanted = tenant_migration_keys()
    by_server: dict[str, list[Tenant]] = {}
    for tenant in tenants:
        by_server.setdefault(tenant.db_server, []).append(tenant)
    done: set[str] = set()
    for server, group in by_server.items():
        backend = tenant_server(tenant_ddl_alias(server))
        open_server_connection = getattr(backend, "server_connection", None)
        if open_server_connection is None:
            continue  # a backend without server connections (SQLite files): every tenant takes the full path
        raw = open_server_connection()
        try:
            cursor = raw.cursor()
            for tenant in group:
                table = f"{quote_database_name(tenant.db_name)}.django_migrations"
                try:
                    cursor.execute(f"SELECT app, name FROM {table}")  # noqa: S608 - name through the allow-list
                except backend.Database.Error:  # type: ignore[attr-defined]
                    continue
                if wanted <= {(app, name) for app, name in cursor.fetchall()}:
                    done.add(tenant.app_id)
        finally:
            raw.close()
    return done


# Tenants recorded per UPDATE: a bounded IN list.
RECORD_BATCH = 1000


def tenants_record_fingerprint(app_ids: list[str], fingerprint: str) -> None:
    """Records `fingerprint` on the named tenants of this environment, in batches."""
    for start in range(0, len(app_ids), RECORD_BATCH):
        batch = app_ids[start : start + RECORD_BATCH]
        Tenant.objects.filter(app_id__in=batch).update(schema_fingerprint=fingerprint)


class Command(BaseCommand):
    help = "Migrate the databases of all tenants, or of the named ones; exits non-zero if any failed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_ids", nargs="*", metavar="APP_ID")
        parser.add_argument("--parallel", type=int, default=1, metavar="N", help="tenants migrated at once")
        parser.add_argument(
            "--verify", action="store_true", help="read every tenant's database, even those recorded up to date"
        )

    def handle(self, *args: Any, app_ids: list[str], parallel: int, verify: bool, **options: Any) -> None:
        if parallel < 1:
            raise CommandError("--parallel must be at least 1")
        tenants = list(tenant_list(app_ids=app_ids))
        missing = set(app_ids) - {tenant.app_id for tenant in tenants}
        if missing:
            raise CommandError(f"no such tenant: {', '.join(sorted(missing))}")
        fingerprint = tenant_schema_fingerprint()
        recorded = {tenant.app_id for tenant in tenants if tenant.schema_fingerprint == fingerprint and not verify}
        to_check = [tenant for tenant in tenants if tenant.app_id not in recorded]
        try:
            up_to_date = tenants_up_to_date(to_check)
        except DatabaseError:
            up_to_date = set()  # the server could not be asked at once: each tenant is checked on its own
        to_migrate = [tenant for tenant in to_check if tenant.app_id not in up_to_date]
        states = RenderedStates()
        results = {tenant.app_id: (True, f"{tenant.app_id}: up to date") for tenant in tenants}
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for tenant, result in zip(to_migrate, pool.map(lambda t: _migrate_one(t, states), to_migrate), strict=True):
                results[tenant.app_id] = result
        now_up_to_date = [
            tenant.app_id
            for tenant in to_check
            if results[tenant.app_id][0] and tenant.schema_fingerprint != fingerprint
        ]
        tenants_record_fingerprint(now_up_to_date, fingerprint)
        failures = 0
        for tenant in tenants:  # in the registry's order, as before
            ok, line = results[tenant.app_id]
            failures += not ok
            self.stdout.write(line)
        if failures:
            raise CommandError(f"{failures} of {len(tenants)} tenant(s) failed to migrate")
        self.stdout.write(f"{len(tenants)} tenant(s) migrated")
