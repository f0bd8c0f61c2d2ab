"""manage.py release_check RELEASE_ID: ask WeChat now about every tenant of a release that waits (an audit in
progress, 61039, 85009, 85085) instead of at its next scheduled check; e.g. after a missed audit push."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from component.releases import audit
from component.releases.audit import release_audit
from component.releases.services import release_check_now
from console.actors import actor_from_command
from core.commands import run_service


class Command(BaseCommand):
    help = "Check now, with WeChat, the tenants of a template release that wait (audit, privacy check, quota)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        count = run_service(release_check_now, release_id=options["release_id"])
        release_audit(actor=actor_from_command(), action=audit.CHECK, release_id=options["release_id"], tenants=count)
        self.stdout.write(f"release {options['release_id']}: {count} tenants checked with WeChat")
