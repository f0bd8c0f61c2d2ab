import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from core.commands import run_service
from pushes.control.audit import AUDIT_ACTION, audit_details
from pushes.control.models import PushSettings
from pushes.control.services import PushSettingsChange, push_settings_set


class Command(BaseCommand):
    help = (
        "Store what was entered on WeChat's push settings page (开发管理 > 消息推送) for a tenant: the Token, the "
        "EncodingAESKey (compatible and safe modes), the mode and the data format. The secrets are read from "
        "environment variables, never argv. (Admin and platform API: permission pushes_control.change_pushsettings.)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--token-env", metavar="VAR", required=True, help="read the Token from this variable")
        parser.add_argument("--aes-key-env", metavar="VAR", help="read the EncodingAESKey from this variable")
        parser.add_argument("--format", choices=PushSettings.Format.values, help="data format (default json)")
        parser.add_argument("--mode", choices=PushSettings.Mode.values, help="message encryption mode (default safe)")
        parser.add_argument(
            "--transfer-customer-service",
            choices=("on", "off"),
            help="hand customer-service messages to WeChat's customer-service tool (default off)",
        )

    def handle(self, *args: Any, app_id: str, token_env: str, aes_key_env: str | None, **options: Any) -> None:
        transfer = options.get("transfer_customer_service")
        change = PushSettingsChange(
            token=_from_environment(token_env),
            aes_key=_from_environment(aes_key_env) if aes_key_env else None,
            mode=options.get("mode"),
            format=options.get("format"),
            transfer_customer_service=None if transfer is None else transfer == "on",
        )
        settings = run_service(push_settings_set, app_id=app_id, change=change)
        command_audit(module=__name__, action=AUDIT_ACTION, app_id=app_id, **audit_details(change))
        self.stdout.write(f"{app_id}: pushes in {settings.mode} mode, {settings.format}")


def _from_environment(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CommandError(f"environment variable {name} is empty or not set")
    return value
