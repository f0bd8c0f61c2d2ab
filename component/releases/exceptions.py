"""The errors an operator sees when a release cannot be started or acted on (commands and admin alike)."""

from core.exceptions import ApplicationError


class ReleaseInvalid(ApplicationError):
    code = "release_invalid"
    message = "The release cannot be started as asked."


class ReleaseTargetNotReady(ApplicationError):
    code = "release_target_not_ready"
    message = "That tenant's release is not at a stage that allows this."
    status = 409


class TenantNotAuthorizedForCode(ApplicationError):
    """WeChat takes code management (wxa/commit & co.) only from a third-party platform, with an authorizer token."""

    code = "tenant_not_authorized_for_code"
    message = "This tenant has not authorized Miniplex's open platform (or its owner cancelled it): nothing is sent."
    status = 409
