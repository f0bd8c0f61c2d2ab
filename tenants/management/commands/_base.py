"""What the tenant commands share: application errors become a clean CommandError (exit status 1)."""

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import ApplicationError


class TenantCommand(BaseCommand):
    def run_service(self, service: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return service(**kwargs)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}") from error


class TenantStatusCommand(TenantCommand):
    """suspend_tenant and resume_tenant: one AppID in, the tenant's new status out."""

    service: Callable[..., Any]

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")

    def handle(self, *args: Any, app_id: str, **options: Any) -> None:
        tenant = self.run_service(type(self).service, app_id=app_id)
        self.stdout.write(f"{tenant.app_id}: {tenant.status}")
