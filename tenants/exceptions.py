"""Errors of tenant resolution and lifecycle, in the JSON shape of DESIGN.md."""

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
