from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from checkin.services import checkin_settings_set, reward_set
from core.commands import run_service
from core.tenant_context import activate_tenant
from tenants.selectors import tenant_context_for, tenant_get


class Command(BaseCommand):
    help = (
        "Set a tenant's check-in rules (time zone, points, the reminder's template and hour) and, with --reward, "
        "add or change a reward on sale. Options not given stay as they are."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--time-zone", help="The tenant's day starts at midnight here (IANA name: Asia/Shanghai).")
        parser.add_argument("--points", type=int, help="Points a check-in earns.")
        parser.add_argument("--reminder-template", help="The subscribe-message template of the reminder ('' none).")
        parser.add_argument("--reminder-hour", type=int, help="Local hour (0-23) from which reminders go out.")
        parser.add_argument("--reward", metavar="CODE", help="A reward's code: sets it with the options below.")
        parser.add_argument("--title", default="", help="The reward's title (what WeChat Pay shows the payer).")
        parser.add_argument("--amount", type=int, default=0, help="The reward's price in fen.")
        parser.add_argument("--bonus-points", type=int, default=0, help="Points the reward adds once paid.")
        parser.add_argument("--inactive", action="store_true", help="Stop selling the reward.")

    def handle(self, *args: Any, app_id: str, **options: Any) -> None:
        tenant = run_service(tenant_get, app_id=app_id)
        with activate_tenant(tenant_context_for(tenant)):
            rules = run_service(
                checkin_settings_set,
                time_zone=options["time_zone"],
                points_per_checkin=options["points"],
                reminder_template_id=options["reminder_template"],
                reminder_hour=options["reminder_hour"],
            )
            self.stdout.write(
                f"{app_id}: day in {rules.time_zone}, {rules.points_per_checkin} points a check-in, reminder "
                f"{rules.reminder_template_id or '(none)'} from {rules.reminder_hour}:00"
            )
            if options["reward"]:
                reward = run_service(
                    reward_set,
                    code=options["reward"],
                    title=options["title"] or options["reward"],
                    amount=options["amount"],
                    bonus_points=options["bonus_points"],
                    active=not options["inactive"],
                )
                state = "on sale" if reward.active else "not on sale"
                self.stdout.write(
                    f"{app_id}: reward {reward.code} = {reward.amount} fen, +{reward.bonus_points} ({state})"
                )
