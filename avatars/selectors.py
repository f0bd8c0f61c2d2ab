"""Reads of avatars: a user's latest upload, and what the console shows operators."""

from typing import Any

from accounts.models import MiniProgramUser
from avatars.models import Avatar

CONSOLE_SHOWN = 100
# What operators look at: uploads WeChat asked a person to review, and those it never answered.
NEEDS_A_PERSON = (Avatar.Status.REVIEW, Avatar.Status.UNCHECKED)


def avatar_latest_for_user(*, user: MiniProgramUser) -> Avatar | None:
    """The user's newest upload (its state is what /api/v1/me shows), or None."""
    return Avatar.objects.filter(user=user).order_by("-id").first()


def avatars_needing_a_person_count() -> int:
    return Avatar.objects.filter(status__in=NEEDS_A_PERSON).count()


def avatars_for_console() -> dict[str, Any]:
    """The Avatars page of a tenant in the console: the uploads waiting, newest first."""
    waiting = Avatar.objects.filter(status__in=(*NEEDS_A_PERSON, Avatar.Status.PENDING)).select_related("user")
    return {"avatars": list(waiting.order_by("-id")[:CONSOLE_SHOWN])}
