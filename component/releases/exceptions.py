"""The errors an operator sees when a release cannot be started or acted on (commands and admin alike)."""

from core.exceptions import ApplicationError


class ReleaseInvalid(ApplicationError):
    code = "release_invalid"
    message = "The release cannot be started as asked."


class ReleaseTargetNotReady(ApplicationError):
    code = "release_target_not_ready"
    message = "That tenant's release is not at a stage that allows this."
    status = 409
