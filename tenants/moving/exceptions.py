"""Errors of a tenant move, in the one JSON error shape (core.exceptions)."""

from core.exceptions import ApplicationError
from tenants.moving import conf


class TenantMoving(ApplicationError):
    """A write to a tenant frozen for the last step of its move: retry in a moment, it will be served."""

    code = "tenant_moving"
    message = "This mini-program's data is being moved to another server; retry in a few seconds."
    status = 503

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(conf.retry_after_seconds())}


class MoveRefused(ApplicationError):
    code = "move_refused"
    status = 409


class MoveSameServer(MoveRefused):
    code = "move_same_server"
    message = "The tenant's database is on that server already."
    status = 400


class MoveInProgress(MoveRefused):
    code = "move_in_progress"
    message = "A move of this tenant is under way: finish it with --finalize or undo it with --abort."


class NoMoveInProgress(MoveRefused):
    code = "no_move_in_progress"
    message = "No move of this tenant is under way."


class MoveNotSwitched(MoveRefused):
    code = "move_not_switched"
    message = "The move has not switched to the new copy yet: nothing to finalize (--abort undoes it)."


class MoveTargetExists(MoveRefused):
    code = "move_target_exists"


class MoveUnsupported(MoveRefused):
    code = "move_unsupported"
    message = "Only tenants on MySQL/MariaDB servers can be moved."
    status = 400


class MoveVerifyFailed(ApplicationError):
    code = "move_verify_failed"
    status = 500
