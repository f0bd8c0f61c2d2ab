"""manage.py release_status [RELEASE_ID] [--json]: the board of one release (each tenant's stage and WeChat's
words on failures), or of the latest releases."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from component.releases.models import Release
from component.releases.selectors import release_summaries, release_targets


class Command(BaseCommand):
    help = "Show a template release's tenants and their stages (or the latest releases)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release_id", type=int, nargs="?")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["release_id"] is None:
            for summary in release_summaries():
                stages = ", ".join(f"{stage} {count}" for stage, count in sorted(summary.stages.items()))
                self.stdout.write(f"{summary.release.pk}\t{summary.release}\t{stages}")
            return
        if not Release.objects.filter(pk=options["release_id"]).exists():
            raise CommandError(f"no release {options['release_id']}")
        rows = [
            {
                "app_id": target.app_id,
                "stage": target.stage,
                "auditid": target.auditid,
                "errcode": target.errcode,
                "wechat_message": target.wechat_message,
            }
            for target in release_targets(release_id=options["release_id"])
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            words = f"\t{row['errcode'] or ''} {row['wechat_message']}".rstrip() if row["wechat_message"] else ""
            self.stdout.write(f"{row['app_id']}\t{row['stage']}{words}")
