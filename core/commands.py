"""What the management commands share: an application error becomes a clean CommandError (exit status 1)."""

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError

from core.exceptions import ApplicationError


def run_service(service: Callable[..., Any], **kwargs: Any) -> Any:
    """service(**kwargs); an ApplicationError is printed as "code: message" with no traceback."""
    try:
        return service(**kwargs)
    except ApplicationError as error:
        raise CommandError(f"{error.code}: {error.message}") from error
