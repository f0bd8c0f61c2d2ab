"""Tenant-bound bearer tokens for mini-program users (accounts.tokens)."""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request

from accounts.models import MiniProgramUser
from accounts.selectors import user_for_token
from api.throttling import throttle_unauthenticated

KEYWORD = "Bearer"


class TenantTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`, looked up in the active tenant only: another tenant's token is 401."""

    def authenticate(self, request: Request) -> tuple[MiniProgramUser, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != KEYWORD.lower():
            # Anonymous: counted now, since a view that needs a user answers 401 before any throttle runs.
            throttle_unauthenticated(request)
            return None
        if len(parts) != 2:
            throttle_unauthenticated(request)
            raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        raw_token = parts[1].decode(errors="replace")
        user = user_for_token(raw_token=raw_token)
        if user is None:
            throttle_unauthenticated(request)  # guessing tokens costs the anonymous rate
            raise AuthenticationFailed("The token is unknown, expired or revoked for this mini-program.")
        return user, raw_token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return f'{KEYWORD} realm="api"'


def request_user(request: Request) -> MiniProgramUser:
    """The user whose token authenticated the request (DRF types request.user as the platform's user model)."""
    user: object = request.user
    if not isinstance(user, MiniProgramUser):
        raise NotAuthenticated()
    return user


def request_token(request: Request) -> str:
    """The raw token the request was authenticated with."""
    token: object = request.auth
    if not isinstance(token, str):
        raise NotAuthenticated()
    return token
