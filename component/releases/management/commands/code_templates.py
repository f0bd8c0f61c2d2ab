"""manage.py code_templates [--drafts] [--add-draft DRAFT_ID]: the open platform's template library.

Drafts are what developers upload from WeChat's developer tools; a draft added to the library becomes a template
whose id `release_template` takes.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from component.releases import wechat_calls
from core.exceptions import ApplicationError
from wechat.exceptions import WeChatError


class Command(BaseCommand):
    help = "List the template library (or its drafts), or add a draft to it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--drafts", action="store_true", help="list the drafts instead of the templates")
        parser.add_argument("--add-draft", type=int, metavar="DRAFT_ID", help="add this draft to the library")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["add_draft"] is not None:
                wechat_calls.template_add_from_draft(draft_id=options["add_draft"])
                self.stdout.write(f"draft {options['add_draft']} added to the template library")
            key = "draft_id" if options["drafts"] else "template_id"
            entries = wechat_calls.template_drafts_list() if options["drafts"] else wechat_calls.templates_list()
        except WeChatError as error:
            raise CommandError(f"WeChat: {error}") from None
        except ApplicationError as error:  # open-platform mode off, or no ticket from WeChat yet
            raise CommandError(f"{error.code}: {error.message}") from None
        for entry in entries:
            self.stdout.write(f"{entry.get(key)}\t{entry.get('user_version')}\t{entry.get('user_desc')}")
