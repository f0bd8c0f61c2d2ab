"""Where the receiver finds the keys of a tenant's pushes: registered sources first, then pushes.control.

An open-platform tenant's pushes are signed and encrypted with its third-party platform's keys (component), a
mini-program's own with what was entered on its push settings page. The component app registers a source in
its AppConfig.ready(); pushes imports no app that plugs into it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from pushes.control.selectors import push_settings_get


@dataclass(frozen=True)
class PushCredentials:
    """How one tenant's pushes are verified: app_id_expected is the AppID encrypted pushes must end with."""

    token: str
    aes_key: str
    app_id_expected: str
    mode: str  # plain | compatible | safe
    format: str  # json | xml
    transfer_customer_service: bool = False
    # Set when the keys are shared by several tenants (an open platform's: every authorizer's pushes are signed
    # and encrypted alike): the ToUserName a push must name (the mini-program's original id, gh_...), the only
    # field binding it to the path's tenant. None for a tenant's own keys, which bind it already.
    addressee: str | None = None

    def __repr__(self) -> str:
        # Never the Token or the key, should a log line or an error report show this object.
        return (
            f"PushCredentials(app_id_expected={self.app_id_expected!r}, mode={self.mode!r}, format={self.format!r}, "
            f"addressee={self.addressee!r})"
        )


CredentialsSource = Callable[[str], PushCredentials | None]
_sources: list[CredentialsSource] = []


def register_push_credentials_source(source: CredentialsSource) -> None:
    """source(app_id) -> PushCredentials, or None when it does not know the AppID (the next one is asked)."""
    if source not in _sources:
        _sources.append(source)


def push_credentials_for(app_id: str) -> PushCredentials | None:
    """The credentials of a (validated) AppID's pushes, or None when nothing knows them."""
    for source in _sources:
        credentials = source(app_id)
        if credentials is not None:
            return credentials
    settings = push_settings_get(app_id=app_id)
    if settings is None:
        return None
    return PushCredentials(
        token=settings.token,
        aes_key=settings.aes_key,
        app_id_expected=app_id,
        mode=settings.mode,
        format=settings.format,
        transfer_customer_service=settings.transfer_customer_service,
    )
