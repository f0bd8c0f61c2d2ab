"""manage.py release_template TEMPLATE_ID (--tenants A B ... | --all) --user-version V --user-desc D
[--ext-json-file F] [--audit-json-file F] [--auto-release]

Starts a release: one platform job per tenant commits the template with the tenant's own ext_json, submits it
for audit, follows the audit and, with --auto-release, releases it once approved (else: `release_approved`).
Follow it with `release_status RELEASE_ID` or in the admin (Template releases). The admin asks for the
component_releases.add_release permission; a command's user holds the control database's credentials anyway.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from component.releases import audit
from component.releases.audit import release_audit
from component.releases.services import release_start
from console.actors import actor_from_command
from core.commands import run_service


class Command(BaseCommand):
    help = "Release one template of the template library to many tenants (commit, audit, release)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template_id", type=int, help="from the template library (manage.py code_templates)")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenants", nargs="+", metavar="APP_ID", help="these active tenants")
        who.add_argument(
            "--all", action="store_true", help="every active tenant that authorized the platform (open-platform mode)"
        )
        parser.add_argument("--user-version", required=True, help="the version WeChat shows (at most 64 characters)")
        parser.add_argument("--user-desc", required=True, help="the version's description")
        parser.add_argument("--ext-json-file", type=Path, help="the ext_json template (docs/template-releases.md)")
        parser.add_argument("--audit-json-file", type=Path, help="extra submit_audit fields (item_list, ...)")
        parser.add_argument("--auto-release", action="store_true", help="release each tenant once its audit passes")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_from_command()
        release = run_service(
            release_start,
            template_id=options["template_id"],
            app_ids=None if options["all"] else options["tenants"],
            user_version=options["user_version"],
            user_desc=options["user_desc"],
            ext_json_template=_json_file(options["ext_json_file"]),
            audit_request=_json_file(options["audit_json_file"]),
            auto_release=options["auto_release"],
            started_by=f"{actor.username} (command)",
        )
        count = release.targets.count()
        release_audit(
            actor=actor,
            action=audit.START,
            release_id=release.pk,
            template_id=release.template_id,
            user_version=release.user_version,
            tenants=count,
            auto_release=release.auto_release,
        )
        self.stdout.write(f"release {release.pk}: template {release.template_id} as {release.user_version}")
        self.stdout.write(f"{count} tenants queued; follow it with: manage.py release_status {release.pk}")


def _json_file(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise CommandError(f"{path} is not JSON: {error}") from None
