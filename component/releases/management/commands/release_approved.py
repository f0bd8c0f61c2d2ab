"""manage.py release_approved RELEASE_ID [--tenants A B ...]: release the approved tenants of a release.

For a release started without --auto-release: the tenants approved now are released at once (in platform jobs),
those still in audit as soon as their audit passes.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from component.releases import audit
from component.releases.audit import release_audit
from component.releases.services import release_targets_release
from console.actors import actor_from_command
from core.commands import run_service


class Command(BaseCommand):
    help = "Release the approved tenants of a template release (the rest once their audit passes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release_id", type=int)
        parser.add_argument("--tenants", nargs="+", metavar="APP_ID", help="only these tenants")

    def handle(self, *args: Any, **options: Any) -> None:
        app_ids = run_service(release_targets_release, release_id=options["release_id"], app_ids=options["tenants"])
        release_audit(
            actor=actor_from_command(), action=audit.RELEASE_APPROVED, release_id=options["release_id"], tenants=app_ids
        )
        self.stdout.write(f"release {options['release_id']}: {len(app_ids)} tenants to release")
