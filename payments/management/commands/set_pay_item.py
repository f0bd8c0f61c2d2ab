from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.commands import run_service
from core.tenant_context import activate_tenant
from payments.services import item_set
from tenants.selectors import tenant_context_for, tenant_get


class Command(BaseCommand):
    help = (
        "Set an item of a tenant's price list (created, or its price and description changed): what "
        'POST /api/v1/pay/orders {"item": CODE} sells. Orders made before keep their own price.'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("code", help="The item's code (letters, digits, - and _; at most 32).")
        parser.add_argument("--amount", type=int, required=True, help="The price in fen (1/100 yuan), at least 1.")
        parser.add_argument("--description", required=True, help="What WeChat shows the payer (at most 127).")
        parser.add_argument("--inactive", action="store_true", help="Stop selling it (orders of it stay).")

    def handle(self, *args: Any, app_id: str, code: str, **options: Any) -> None:
        tenant = run_service(tenant_get, app_id=app_id)
        with activate_tenant(tenant_context_for(tenant)):
            item = run_service(
                item_set,
                code=code,
                amount=options["amount"],
                description=options["description"],
                active=not options["inactive"],
            )
        state = "on sale" if item.active else "not on sale"
        self.stdout.write(f"{tenant.app_id}: {item.code} = {item.amount} fen, {item.description!r} ({state})")
