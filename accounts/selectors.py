"""Reads of mini-program users."""

from accounts.models import MiniProgramUser
from accounts.tokens import token_user_id


def user_for_token(*, raw_token: str) -> MiniProgramUser | None:
    """The active tenant's user holding this token: one Redis read and one row in steady state."""
    user_id = token_user_id(raw_token=raw_token)
    if user_id is None:
        return None
    return MiniProgramUser.objects.filter(pk=user_id).first()
