"""Where avatars are kept: a Django storage, and the public URL each file is served at.

STORAGES["avatars"] wins when the deployment defines it (an S3-compatible bucket through django-storages, for
example); otherwise AVATARS_STORAGE (config/settings/avatars.py: the file system under MEDIA_ROOT by default).
The URL is MEDIA_PUBLIC_BASE_URL + the file's name whatever the storage, so nginx, a CDN or the bucket's own host
serves the same names.
"""

import json
import secrets
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "avatars"
FOLDER = "avatars"


def avatar_storage() -> Storage:
    return _storage_for(json.dumps(_storage_params(), sort_keys=True, default=str))


def _storage_params() -> dict[str, Any]:
    params = settings.STORAGES.get(STORAGE_ALIAS)
    if params is None:
        params = dict(settings.AVATARS_STORAGE)
        if params["BACKEND"] == "django.core.files.storage.FileSystemStorage":
            # Read now rather than at start-up, so a test's MEDIA_ROOT holds.
            params["OPTIONS"] = {"location": str(settings.MEDIA_ROOT), **params.get("OPTIONS", {})}
    return params


@lru_cache(maxsize=8)
def _storage_for(params_json: str) -> Storage:
    # One storage object per configuration and process (an S3 storage holds a client and its connections).
    return storages.create_storage(json.loads(params_json))


def avatar_file_name(*, app_id: str, extension: str) -> str:
    """A new name under the tenant's own prefix; random, so no URL can be guessed from another."""
    return f"{FOLDER}/{app_id}/{secrets.token_urlsafe(18)}.{extension}"


def avatar_public_url(*, file_name: str) -> str:
    base = settings.MEDIA_PUBLIC_BASE_URL
    return base + file_name if base.endswith("/") else f"{base}/{file_name}"
