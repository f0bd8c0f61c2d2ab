import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from console.models import AuditEntry
from core.commands import run_service
from tenants.moving.services import MoveReport, tenant_move_abort, tenant_move_finalize, tenant_move_start


class Command(BaseCommand):
    help = (
        "Move a tenant's database to another configured server (TENANT_DB_SERVERS): a copy while it is served, "
        "a write freeze of a few seconds for the last changes (reads go on; writes get 503 tenant_moving), a "
        "verification of every table, the switch. The old copy is kept until --finalize drops it; --abort puts "
        "everything back at any stage, copying back what was written on the new copy. (docs/moving-tenants.md)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--to", metavar="SERVER", help="the server to move to (a name in TENANT_DB_SERVERS)")
        step = parser.add_mutually_exclusive_group()
        step.add_argument("--finalize", action="store_true", help="drop the old copy of a switched move")
        step.add_argument("--abort", action="store_true", help="undo the move, at any stage")

    def handle(self, *args: Any, app_id: str, to: str | None, finalize: bool, abort: bool, **options: Any) -> None:
        self._started = time.monotonic()
        if finalize or abort:
            if to:
                raise CommandError("--to goes with a new move only, not with --finalize or --abort")
            service, action = (tenant_move_finalize, "MOVE_FINALIZE") if finalize else (tenant_move_abort, "MOVE_ABORT")
            report: MoveReport = run_service(service, app_id=app_id, progress=self._say)
        else:
            if not to:
                raise CommandError("say where to: --to SERVER (or --finalize / --abort for a move under way)")
            report = run_service(tenant_move_start, app_id=app_id, to=to, progress=self._say)
            action = "MOVE"
            self._say(
                f"freeze window: {report.freeze_seconds:.2f} s for {sum(c.target_rows for c in report.checks)} rows"
            )
        command_audit(
            module=__name__, action=getattr(AuditEntry.Action, action), app_id=report.app_id, **report.details()
        )

    def _say(self, line: str) -> None:
        # Seconds since the command started, so an admin sees which step takes the time.
        self.stdout.write(f"[{time.monotonic() - self._started:6.1f} s] {line}")
        self.stdout.flush()
