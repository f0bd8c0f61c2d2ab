from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from payments.pending import pending_tenants_all
from payments.reconciliation import reconcile_app_ids


class Command(BaseCommand):
    help = (
        "Ask WeChat Pay about the pending orders (and processing refunds) older than a bound: mark paid the ones "
        "WeChat says are paid, close the expired ones, report mismatches. Without APP_IDs: every tenant marked "
        "as having something pending (the periodic job does the same for those past the bound)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_ids", nargs="*", metavar="APP_ID")
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="MINUTES",
            help="Only orders older than this (default: PAY_RECONCILE_AFTER_MINUTES).",
        )

    def handle(self, *args: Any, app_ids: list[str], older_than: float | None, **options: Any) -> None:
        bound = None if older_than is None else timedelta(minutes=older_than)
        reports = reconcile_app_ids(app_ids or pending_tenants_all(), older_than=bound)
        for report in reports:
            self.stdout.write(report.line())
        if not reports:
            self.stdout.write("nothing to reconcile")
