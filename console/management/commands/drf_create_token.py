from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = (
        "Make a platform API token for a staff user (sent as `Authorization: Token <key>`). Only its SHA-512 "
        "digest is stored (django-rest-knox): the key is shown once. --reset revokes the user's other tokens."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("-r", "--reset", action="store_true", help="revoke the user's existing tokens first")

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if reset:
            AuthToken.objects.filter(user=user).delete()
        _instance, key = AuthToken.objects.create(user=user)
        # The same line as DRF's command printed, so scripts that took the third word keep working.
        self.stdout.write(f"Generated token {key} for user {username}")
