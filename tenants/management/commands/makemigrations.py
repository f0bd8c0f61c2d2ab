from typing import Any

from django.core.management.commands import makemigrations
from django.test.utils import override_settings


class Command(makemigrations.Command):
    """Django's makemigrations, checking the migration history of the control database only.

    With a router, Django also checks every tenant server alias, which has no database until a tenant is
    active (and fails closed). Each tenant database's history is checked by migrate_tenants instead.
    """

    def handle(self, *args: Any, **options: Any) -> None:
        with override_settings(DATABASE_ROUTERS=[]):
            super().handle(*args, **options)
