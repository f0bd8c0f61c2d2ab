import time
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.commands import command_audit
from core.commands import run_service
from payments.control.audit import SET_PAYMENT
from payments.control.services import merchant_set
from payments.fake_server.remote import FakePayControl
from payments.fake_server.testing import merchant_credentials
from payments.wechatpay.keys import PUBLIC_KEY_MODE
from tenants.selectors import tenant_list

DEMO_MCHID = "1900000109"
DEMO_ITEM_HINT = "./manage.py set_pay_item {app_id} coffee --amount 1800 --description 一杯咖啡"


class Command(BaseCommand):
    help = (
        "`./dev serve`: make the demo tenant a merchant of the local fake WeChat Pay (payments/fake_server) and "
        "print the curl steps of a payment. The fake forgets everything when it stops, and its keys are new each "
        "start, so this runs on every serve. Refuses to run against anything but a fake on this machine."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where the server will listen")
        parser.add_argument("--mode", default=PUBLIC_KEY_MODE, choices=["public_key", "certificate"])

    def handle(self, *args: Any, addr: str, mode: str, **options: Any) -> None:
        base = settings.WECHATPAY_API_BASE.rstrip("/")
        if urlsplit(base).hostname not in ("127.0.0.1", "localhost"):
            raise CommandError(f"WECHATPAY_API_BASE is {base}, not the local fake: no demo merchant there")
        tenant = tenant_list().first()
        if tenant is None:
            raise CommandError("no tenant yet: run ensure_demo_tenant first")
        control = FakePayControl(base)
        _wait_for(base)
        credentials = merchant_credentials("demo", mchid=DEMO_MCHID)
        configured = control.register_merchant(
            DEMO_MCHID, tenant.app_id, credentials.public_key_pem, credentials.serial, credentials.apiv3_key, mode=mode
        )
        change = run_service(
            merchant_set,
            app_id=tenant.app_id,
            mchid=DEMO_MCHID,
            serial=credentials.serial,
            private_key_pem=credentials.private_key_pem,
            apiv3_key=credentials.apiv3_key,
            public_key_pem=configured.get("public_key_pem"),
            public_key_id=configured.get("public_key_id"),
        )
        command_audit(module=__name__, action=SET_PAYMENT, app_id=tenant.app_id, **change.audit_details())
        self.stdout.write(f"demo merchant {DEMO_MCHID} of {tenant.app_id} at the fake WeChat Pay {base} ({mode} mode)")
        self._steps(tenant.app_id, addr, base)

    def _steps(self, app_id: str, addr: str, base: str) -> None:
        header = f"-H '{settings.TENANT_HEADER}: {app_id}' -H 'Content-Type: application/json'"
        self.stdout.write("Pay (TOKEN from the login, ID and OUT_TRADE_NO from the order):")
        self.stdout.write(f"  {DEMO_ITEM_HINT.format(app_id=app_id)}")
        self.stdout.write(
            f"  curl {header} -H 'Authorization: Bearer TOKEN' -d '{{\"item\": \"coffee\"}}' "
            f"http://{addr}/api/v1/pay/orders"
        )
        self.stdout.write(
            f"  curl {header} -H 'Authorization: Bearer TOKEN' -X POST http://{addr}/api/v1/pay/orders/ID/prepay"
        )
        self.stdout.write(f'  curl -d \'{{"out_trade_no": "OUT_TRADE_NO"}}\' {base}/__control__/pay')
        self.stdout.write(f"  curl {header} -H 'Authorization: Bearer TOKEN' http://{addr}/api/v1/pay/orders/ID")


def _wait_for(base: str, seconds: float = 10.0) -> None:
    """The fake was started in the background a moment ago."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(f"{base}/__control__/requests", timeout=1)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise CommandError(f"the fake WeChat Pay at {base} does not answer") from None
            time.sleep(0.1)
