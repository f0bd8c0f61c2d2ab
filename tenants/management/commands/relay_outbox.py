import json
import logging
import time
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connections

from core.exceptions import REDIS_UNREACHABLE
from tenants.jobs.periodic import periodic_enqueue_due_if_enabled
from tenants.jobs.relay import RelayReport, outbox_relay, sweep_claim

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Push to the queue the jobs that a Redis outage left in the outboxes: every OUTBOX_RELAY_SECONDS the "
        "platform's outbox and the tenants marked as having records waiting, every OUTBOX_SWEEP_SECONDS (and at "
        "start) every tenant's outbox. Safe to run on several hosts; --once makes one pass and prints it (JSON)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit (1 when Redis is unreachable)")
        parser.add_argument("--sweep", action="store_true", help="with --once: look into every tenant's outbox")

    def handle(self, *args: Any, once: bool, sweep: bool, **options: Any) -> None:
        if once:
            try:
                report = outbox_relay(sweep=sweep)
            except REDIS_UNREACHABLE as error:
                raise SystemExit(f"Redis is unreachable, nothing relayed: {error}") from None
            self.stdout.write(json.dumps(asdict(report)))
            return
        self._run_forever()

    def _run_forever(self) -> None:
        next_sweep = 0.0  # a sweep first: what was left while no relay ran
        while True:
            sweep = time.monotonic() >= next_sweep and sweep_claim()
            try:
                report = outbox_relay(sweep=sweep)
                periodic_enqueue_due_if_enabled()
            except REDIS_UNREACHABLE + (DatabaseError,) as error:
                logger.warning("outbox relay: pass failed, retried in %ss: %s", settings.OUTBOX_RELAY_SECONDS, error)
            else:
                if sweep:
                    next_sweep = time.monotonic() + settings.OUTBOX_SWEEP_SECONDS
                _log(report, sweep=sweep)
            finally:
                # Between passes, no connection is held (a relay on every host must not pin the servers' slots).
                connections.close_all()
            time.sleep(settings.OUTBOX_RELAY_SECONDS)


def _log(report: RelayReport, *, sweep: bool) -> None:
    if report.pushed or report.already_queued or report.left or sweep:
        logger.info(
            "outbox relay%s: %d outbox(es) read, %d job(s) pushed, %d already queued, left: %s",
            " (sweep)" if sweep else "",
            len(report.tenants),
            report.pushed,
            report.already_queued,
            report.left or "none",
        )
