import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from core.commands import run_service
from payments.control.audit import SET_PAYMENT
from payments.control.services import merchant_set


class Command(BaseCommand):
    help = (
        "Set a tenant's WeChat Pay merchant: its mchid, the merchant certificate's serial, its private key and the "
        "APIv3 key (read from an environment variable, never from argv), and WeChat Pay's public key with its id "
        "(public-key mode) or nothing more (platform-certificate mode: the certificates are downloaded now). "
        "Checked with WeChat Pay before anything is stored. (Admin and platform API: permission "
        "payments_control.change_tenantmerchant.)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("--mchid", required=True)
        parser.add_argument("--serial", required=True, help="the merchant certificate's serial number (hex)")
        parser.add_argument("--private-key-file", required=True, type=Path, help="apiclient_key.pem")
        parser.add_argument("--apiv3-key-env", required=True, metavar="VAR", help="the variable holding the APIv3 key")
        parser.add_argument("--public-key-file", type=Path, help="WeChat Pay's public key (pub_key.pem)")
        parser.add_argument("--public-key-id", help="its id, PUB_KEY_ID_...")
        parser.add_argument(
            "--certificate-file", type=Path, help="apiclient_cert.pem: the serial and the private key are checked"
        )
        parser.add_argument(
            "--no-check", action="store_true", help="public-key mode: store without asking WeChat Pay (offline)"
        )

    def handle(self, *args: Any, app_id: str, apiv3_key_env: str, no_check: bool, **options: Any) -> None:
        apiv3_key = os.environ.get(apiv3_key_env)
        if not apiv3_key:
            raise CommandError(f"environment variable {apiv3_key_env} is empty or not set")
        change = run_service(
            merchant_set,
            app_id=app_id,
            mchid=options["mchid"],
            serial=options["serial"],
            private_key_pem=_read(options["private_key_file"]),
            apiv3_key=apiv3_key,
            public_key_pem=_read(options["public_key_file"]),
            public_key_id=options["public_key_id"],
            merchant_certificate_pem=_read(options["certificate_file"]),
            check=not no_check,
        )
        command_audit(
            module=__name__, action=SET_PAYMENT, app_id=change.merchant.tenant.app_id, **change.audit_details()
        )
        merchant = change.merchant
        checked = "checked with WeChat Pay" if change.checked else "not checked"
        self.stdout.write(
            f"{merchant.tenant.app_id}: WeChat Pay merchant {merchant.mchid} set, {merchant.mode} mode, {checked}"
        )


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: cannot be read ({type(error).__name__})") from None
