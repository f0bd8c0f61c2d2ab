"""The AppID allow-list: checked before any SQL, cache key or database name is built from an AppID."""

import re

from django.conf import settings

from tenants.exceptions import AppIdInvalid, AppIdMissing

# No AppID pattern may admit more than this, whatever TENANT_APP_ID_PATTERN says.
APP_ID_MAX_LENGTH = 32
_SAFE_CHARACTERS = re.compile(r"[A-Za-z0-9_]+", re.ASCII)


def app_id_validate(value: str | None) -> str:
    """The AppID itself when it is well-formed; AppIdMissing or AppIdInvalid otherwise."""
    if value is None or value == "":
        raise AppIdMissing()
    if (
        len(value) > APP_ID_MAX_LENGTH
        or not _SAFE_CHARACTERS.fullmatch(value)
        or not re.fullmatch(settings.TENANT_APP_ID_PATTERN, value, re.ASCII)
    ):
        raise AppIdInvalid()
    return value


def tenant_db_name(app_id: str) -> str:
    """The database name of a (validated) AppID, for example mp_wx0123456789abcdef."""
    return f"{settings.TENANT_DB_PREFIX}{app_id_validate(app_id)}"
