from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from avatars.services import avatar_decide
from core.commands import run_service
from core.tenant_context import activate_tenant
from tenants.selectors import tenant_context_for, tenant_get


class Command(BaseCommand):
    help = (
        "Decide an avatar WeChat left to a person (review) or never answered (unchecked): --approve makes it the "
        "user's avatar, --reject deletes its file. The console's Avatars page lists them with their ids."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")
        parser.add_argument("avatar_id", type=int)
        decision = parser.add_mutually_exclusive_group(required=True)
        decision.add_argument("--approve", action="store_true")
        decision.add_argument("--reject", action="store_true")

    def handle(self, *args: Any, app_id: str, avatar_id: int, approve: bool, **options: Any) -> None:
        tenant = run_service(tenant_get, app_id=app_id)
        with activate_tenant(tenant_context_for(tenant)):
            avatar = run_service(avatar_decide, avatar_id=avatar_id, approve=approve)
        self.stdout.write(f"{tenant.app_id}: avatar {avatar.pk} {avatar.status}")
