"""What the tenant commands share: application errors become a clean CommandError (exit status 1), and every
lifecycle action that succeeds writes one audit entry (door "command", the OS login and its SSH client's address).

A command is run by someone with a shell on a host, who holds the control database's credentials anyway, so
commands check no Django permission; each one's help names the permission the admin and the API ask for.
"""

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.actors import actor_from_command
from console.services import audit_record
from core.exceptions import ApplicationError


class TenantCommand(BaseCommand):
    def run_service(self, service: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return service(**kwargs)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}") from error

    def audit(self, action: str, app_id: str, **details: Any) -> None:
        audit_record(
            actor=actor_from_command(), action=action, app_id=app_id, details={"command": self._name(), **details}
        )

    def _name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]


class TenantStatusCommand(TenantCommand):
    """suspend_tenant and resume_tenant: one AppID in, the tenant's new status out."""

    service: Callable[..., Any]
    action: str

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("app_id")

    def handle(self, *args: Any, app_id: str, **options: Any) -> None:
        tenant = self.run_service(type(self).service, app_id=app_id)
        self.audit(self.action, tenant.app_id)
        self.stdout.write(f"{tenant.app_id}: {tenant.status}")
