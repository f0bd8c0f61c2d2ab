"""Moving a tenant's database to another server: start (copy, freeze, verify, switch), finalize, abort.

The steps, and why each is safe (docs/moving-tenants.md):

1. **copying** is announced: from then on every process reads the tenant's entry from Redis at each request
   (tenants.cache keeps no local copy of a moving tenant), so the later steps reach every process at once.
   The database is copied from one consistent snapshot while the tenant is served; then the chunks that
   changed meanwhile are copied again (still serving).
2. **frozen** is announced: writes are answered 503 tenant_moving, jobs are delayed, pushes are held; reads go
   on from the old copy. Triggers then make the old copy refuse every write (waiting for the transactions in
   flight), so nothing can land on it whatever a process believes. The chunks that still differ are copied,
   and the two copies are verified table by table (rows and CHECKSUM TABLE).
3. **switched** is announced with the new server: the tenant is served from the new copy. The old copy stays,
   frozen, until `tenant_move_finalize` drops it, or `tenant_move_abort` copies back what was written since.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from tenants.exceptions import TenantNotReady, UnknownDatabaseServer
from tenants.models import Tenant
from tenants.moving import conf, copy
from tenants.moving.exceptions import (
    MoveInProgress,
    MoveNotSwitched,
    MoveSameServer,
    MoveTargetExists,
    MoveUnsupported,
    MoveVerifyFailed,
    NoMoveInProgress,
)
from tenants.moving.held import move_held_replay
from tenants.selectors import tenant_get
from tenants.services import _announced_change

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class MoveReport:
    """What a step of the move did, for the command's output and the audit entry."""

    app_id: str
    source: str
    target: str
    rows_copied: int = 0
    copy_seconds: float = 0.0
    catch_up: tuple[int, int] = (0, 0)  # chunks, rows copied again while serving
    final: tuple[int, int] = (0, 0)  # chunks, rows copied again under the freeze
    checks: list[copy.TableCheck] = field(default_factory=list)
    freeze_seconds: float = 0.0
    freeze_started: float = 0.0  # monotonic
    held_replayed: int = 0

    def details(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "rows": sum(check.target_rows for check in self.checks),
            "tables": len(self.checks),
            "freeze_seconds": round(self.freeze_seconds, 3),
            "held_replayed": self.held_replayed,
        }


def _quiet(message: str) -> None:
    logger.info("move: %s", message)


def _set_move(tenant: Tenant, **fields: str) -> None:
    """Changes the move's fields (and the server) of the row, announced to every process's cache."""

    def apply(row: Tenant, version: int) -> None:
        for name, value in fields.items():
            setattr(row, name, value)
            setattr(tenant, name, value)
        row.version = tenant.version = version
        row.save(update_fields=[*fields, "version", "updated_at"])

    _announced_change(tenant, apply)


def _checked_for_start(*, app_id: str, to: str) -> Tenant:
    tenant = tenant_get(app_id=app_id)
    if to not in settings.TENANT_DB_SERVER_NAMES:
        known = ", ".join(settings.TENANT_DB_SERVER_NAMES)
        raise UnknownDatabaseServer(f"No tenant database server is named {to!r} (TENANT_DB_SERVERS: {known}).")
    if tenant.move_state:
        raise MoveInProgress()
    if to == tenant.db_server:
        raise MoveSameServer(f"{tenant.app_id}'s database is on {to!r} already.")
    if tenant.status == Tenant.Status.PROVISIONING:
        raise TenantNotReady()
    for server in (tenant.db_server, to):
        if "mysql" not in settings.DATABASES[f"tenant_{server}_ddl"]["ENGINE"]:
            raise MoveUnsupported()
    with copy.server_connection(to) as target:
        if copy.database_exists(target, tenant.db_name):
            raise MoveTargetExists(
                f"A database named {tenant.db_name} exists on {to!r} already (left by another move?); "
                "drop it there first, after checking it holds nothing you need."
            )
    return tenant


def tenant_move_start(*, app_id: str, to: str, progress: Progress = _quiet) -> MoveReport:
    """Copies, freezes, verifies and switches; on a failure before the switch, puts everything back."""
    tenant = _checked_for_start(app_id=app_id, to=to)
    report = MoveReport(app_id=tenant.app_id, source=tenant.db_server, target=to)
    _set_move(tenant, move_state=Tenant.MoveState.COPYING, move_from=tenant.db_server, move_to=to)
    announced_at = time.monotonic()
    progress(f"1/4 copying {tenant.db_name} from {report.source} to {to} (the tenant is served meanwhile)")
    try:
        with copy.server_connection(report.source) as source, copy.server_connection(to) as target:
            copy.target_prepare(target)
            tables = copy.tables_read(source, tenant.db_name)
            _copy_while_serving(source, target, tenant, tables, report, announced_at, progress)
            _freeze_and_verify(source, target, tenant, tables, report, progress)
            _switch(tenant, report, progress)
    except BaseException:
        if tenant.move_state != Tenant.MoveState.SWITCHED:
            progress("the move failed before the switch: putting everything back")
            _abort_before_switch(tenant, progress)
        raise
    report.held_replayed = _replay_held(tenant, progress)
    return report


def _copy_while_serving(
    source: Any,
    target: Any,
    tenant: Tenant,
    tables: list[copy.Table],
    report: MoveReport,
    announced_at: float,
    progress: Progress,
) -> None:
    started = time.monotonic()
    copy.schema_create(source, target, tenant.db_name, tables)
    report.rows_copied = copy.snapshot_copy(source, target, tenant.db_name, tables, progress)
    report.copy_seconds = time.monotonic() - started
    progress(f"  copied {report.rows_copied} rows of {len(tables)} tables in {report.copy_seconds:.1f} s")
    # Every process must be reading the entry from Redis before the freeze is announced.
    wait = announced_at + conf.propagation_seconds() - time.monotonic()
    if wait > 0:
        progress(f"  waiting {wait:.1f} s so that every process has seen the move")
        time.sleep(wait)
    # Armed (noting the chunks written, refusing nothing yet) before the catch-up: a write made while it runs is
    # noted, and the pass under the freeze compares only the chunks noted.
    copy.freeze_prepare(source, tenant.db_name, tables)
    report.catch_up = copy.chunks_sync(source, target, tenant.db_name, tables)
    progress(f"2/4 caught up with the writes made meanwhile: {report.catch_up[0]} chunks, {report.catch_up[1]} rows")


def _freeze_and_verify(
    source: Any, target: Any, tenant: Tenant, tables: list[copy.Table], report: MoveReport, progress: Progress
) -> None:
    report.freeze_started = time.monotonic()  # writes are refused from the announcement on
    _set_move(tenant, move_state=Tenant.MoveState.FROZEN)
    progress("3/4 FREEZE: writes get 503 tenant_moving, reads go on; waiting for writes in flight")
    copy.freeze(source, tenant.db_name)
    changed = copy.changed_chunks(source, tenant.db_name)
    report.final = copy.chunks_sync(source, target, tenant.db_name, tables, changed)
    copy.auto_increments_copy(source, target, tenant.db_name)
    progress(f"  last writes copied: {report.final[0]} chunks, {report.final[1]} rows; verifying")
    report.checks = _verified(source, target, tenant.db_name, tables, progress)


def _verified(source: Any, target: Any, db_name: str, tables: list[copy.Table], progress: Progress) -> list:
    checks = copy.tables_compare(source, target, db_name, tables)
    unequal = [table for table, check in zip(tables, checks, strict=True) if not check.equal]
    for table in unequal:
        progress(f"  {table.name} differs after the chunk copy: copying the whole table again")
        copy.table_recopy(source, target, db_name, table)
    if unequal:
        checks = copy.tables_compare(source, target, db_name, tables)
    progress(f"  {'table':<40} {'rows (old/new)':>20} {'checksum (old/new)':>26}")
    for check in checks:
        mark = "ok" if check.equal else "DIFFERS"
        progress(
            f"  {check.table:<40} {check.source_rows:>9}/{check.target_rows:<10} "
            f"{check.source_checksum}/{check.target_checksum} {mark}"
        )
    if not all(check.equal for check in checks):
        raise MoveVerifyFailed("The copies differ after the final copy; nothing was switched.")
    return checks


def _switch(tenant: Tenant, report: MoveReport, progress: Progress) -> None:
    _set_move(tenant, move_state=Tenant.MoveState.SWITCHED, db_server=report.target)
    report.freeze_seconds = time.monotonic() - report.freeze_started
    progress(
        f"4/4 SWITCHED: {tenant.app_id} is served from {report.target}; the write freeze lasted "
        f"{report.freeze_seconds:.2f} s. The old copy on {report.source} is kept, read-only: "
        f"`move_tenant {tenant.app_id} --finalize` drops it, `--abort` moves back."
    )


def _replay_held(tenant: Tenant, progress: Progress) -> int:
    replayed = move_held_replay(app_id=tenant.app_id)
    # A push answered by a process that read the frozen entry just before the switch may be held after it.
    time.sleep(conf.in_flight_seconds())
    replayed += move_held_replay(app_id=tenant.app_id)
    if replayed:
        progress(f"  {replayed} push(es) held during the freeze replayed on the new copy")
    return replayed


def _abort_before_switch(tenant: Tenant, progress: Progress) -> None:
    """The old copy is still the one in use: writable again, the move forgotten, the new copy dropped."""
    with copy.server_connection(tenant.db_server) as source:
        dropped = copy.unfreeze(source, tenant.db_name)
    if dropped:
        progress(f"  the old copy on {tenant.db_server} takes writes again")
    target = tenant.move_to
    _set_move(tenant, move_state=Tenant.MoveState.NONE, move_from="", move_to="")
    with copy.server_connection(target) as connection:
        copy.database_drop(connection, tenant.db_name)
    progress(f"  the partial copy on {target} was dropped; {tenant.app_id} is served from {tenant.db_server}")
    move_held_replay(app_id=tenant.app_id)


def tenant_move_abort(*, app_id: str, progress: Progress = _quiet) -> MoveReport:
    """Puts the tenant back on its old server, at any stage of a move.

    Before the switch: the old copy is unfrozen and the new one dropped. After the switch the new copy may
    have taken writes: it is frozen in turn, every chunk that differs is copied back into the old copy
    (which nothing else could write since its freeze), both are verified, and the tenant is switched back;
    nothing written on the new copy is lost.
    """
    tenant = tenant_get(app_id=app_id)
    if not tenant.move_state:
        raise NoMoveInProgress()
    report = MoveReport(app_id=tenant.app_id, source=tenant.move_from, target=tenant.move_to)
    if tenant.move_state != Tenant.MoveState.SWITCHED:
        progress(f"aborting {tenant.app_id}'s move before its switch")
        _abort_before_switch(tenant, progress)
        return report
    progress(f"aborting {tenant.app_id}'s move: copying back what was written on {tenant.move_to} since the switch")
    back = MoveReport(app_id=tenant.app_id, source=tenant.move_to, target=tenant.move_from)
    with copy.server_connection(back.source) as new, copy.server_connection(back.target) as old:
        copy.target_prepare(old)
        tables = copy.tables_read(new, tenant.db_name)
        copy.freeze_prepare(new, tenant.db_name, tables)
        back.catch_up = copy.chunks_sync(new, old, tenant.db_name, tables)
        progress(f"  caught up while serving: {back.catch_up[0]} chunks, {back.catch_up[1]} rows")
        try:
            _freeze_and_verify(new, old, tenant, tables, back, progress)
        except BaseException:
            copy.unfreeze(new, tenant.db_name)
            _set_move(tenant, move_state=Tenant.MoveState.SWITCHED)
            progress(f"  the abort failed; {tenant.app_id} stays on {back.source}, unfrozen")
            raise
        copy.unfreeze(old, tenant.db_name)
        _set_move(tenant, move_state=Tenant.MoveState.NONE, move_from="", move_to="", db_server=back.target)
        back.freeze_seconds = time.monotonic() - back.freeze_started
        copy.database_drop(new, tenant.db_name)
    progress(
        f"ABORTED: {tenant.app_id} is served from {back.target} again (write freeze {back.freeze_seconds:.2f} s); "
        f"the copy on {back.source} was dropped"
    )
    back.held_replayed = _replay_held(tenant, progress)
    return back


def tenant_move_finalize(*, app_id: str, progress: Progress = _quiet) -> MoveReport:
    """Drops the old copy of a switched move and ends it."""
    tenant = tenant_get(app_id=app_id)
    if not tenant.move_state:
        raise NoMoveInProgress()
    if tenant.move_state != Tenant.MoveState.SWITCHED:
        raise MoveNotSwitched()
    report = MoveReport(app_id=tenant.app_id, source=tenant.move_from, target=tenant.move_to)
    report.held_replayed = move_held_replay(app_id=tenant.app_id)
    with copy.server_connection(report.source) as old:
        copy.database_drop(old, tenant.db_name)
    progress(f"dropped the old copy {tenant.db_name} on {report.source}")
    _set_move(tenant, move_state=Tenant.MoveState.NONE, move_from="", move_to="")
    progress(f"FINALIZED: {tenant.app_id} lives on {tenant.db_server}")
    return report
