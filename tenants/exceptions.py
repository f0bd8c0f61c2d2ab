"""Errors of tenant resolution and lifecycle, in the one JSON error shape (core.exceptions)."""

from core.exceptions import ApplicationError


class AppIdMissing(ApplicationError):
    code = "app_id_missing"
    message = "The X-AppID header is required."
    status = 400


class AppIdInvalid(ApplicationError):
    code = "app_id_invalid"
    message = "The X-AppID header is not a valid AppID."
    status = 400


class TenantNotFound(ApplicationError):
    code = "tenant_not_found"
    message = "No mini-program is registered with this AppID."
    status = 404


class TenantSuspended(ApplicationError):
    code = "tenant_suspended"
    message = "This mini-program is suspended."
    status = 403


class UnknownDatabaseServer(ApplicationError):
    code = "unknown_database_server"
    message = "No tenant database server has this name."
    status = 400


class TenantExists(ApplicationError):
    code = "tenant_exists"
    message = "A mini-program with this AppID is registered already."
    status = 409


class TenantNotReady(ApplicationError):
    code = "tenant_not_ready"
    message = "This mini-program is still being provisioned."
    status = 409


class RetireNotConfirmed(ApplicationError):
    code = "confirmation_mismatch"
    message = "Type the AppID again, exactly, to confirm the retirement."
    status = 400


class SecretRejected(ApplicationError):
    """WeChat refused to give a token for the AppID and AppSecret: the message says what to fix."""

    code = "wechat_secret_rejected"
    status = 400


class DatabaseNameTaken(ApplicationError):
    """The tenant database name is registered by another environment sharing the control database."""

    code = "database_name_taken"
    message = "Another environment has registered this database name; give each environment its own TENANT_DB_PREFIX."
    status = 409
