"""Settings of avatars (imported at the end of config.settings.base). What each one does: docs/avatars.md."""

from config.env import BASE_DIR, env

# Where uploaded files live on the file system (the default storage), and the public URL they are served at:
# an avatar stored as `avatars/<app_id>/<name>.jpg` is `MEDIA_PUBLIC_BASE_URL + "avatars/<app_id>/<name>.jpg"`.
# WeChat fetches that URL for its content check, so in production it must be reachable from the internet
# (nginx's `location /media/` or a CDN in front of the bucket).
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
MEDIA_PUBLIC_BASE_URL = env("MEDIA_PUBLIC_BASE_URL", default="http://127.0.0.1:8000/media/")

# The avatars' storage when STORAGES has no "avatars" entry: the file system under MEDIA_ROOT unless
# AVATARS_STORAGE_BACKEND names another (storages.backends.s3.S3Storage with AVATARS_STORAGE_OPTIONS as JSON,
# e.g. {"bucket_name": "...", "endpoint_url": "https://..."}; boto3 is then the operator's to install).
AVATARS_STORAGE = {
    "BACKEND": env("AVATARS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env.json("AVATARS_STORAGE_OPTIONS", default={}),
}

# What an upload may be: its size in bytes and its width and height in pixels (checked in the image's header,
# before any pixel is decoded, so a small file that would unpack to gigabytes is refused unopened).
AVATARS_MAX_BYTES = env.int("AVATARS_MAX_BYTES", default=2 * 1024 * 1024)
AVATARS_MAX_PIXELS_SIDE = env.int("AVATARS_MAX_PIXELS_SIDE", default=2048)
# The upload's multipart body may be this much larger than the API's general limit (core.middleware): the file
# plus its part's headers. nginx needs the same for this one location (docs/avatars.md).
API_MAX_BODY_BYTES_BY_PATH = {"/api/v1/me/avatar": AVATARS_MAX_BYTES + 64 * 1024}

# Uploads a user may make (per tenant), on top of the API's per-user rate: each one costs a WeChat check.
AVATARS_UPLOAD_RATE = env("AVATARS_UPLOAD_RATE", default="10/min")

# WeChat pushes the check's answer "within 30 minutes"; past that a check is submitted again, at most this many
# times, and then the avatar is left `unchecked` for an operator (the console's Avatars page).
AVATARS_CHECK_TIMEOUT_SECONDS = env.int("AVATARS_CHECK_TIMEOUT_SECONDS", default=30 * 60)
AVATARS_CHECK_RETRIES = env.int("AVATARS_CHECK_RETRIES", default=2)
# How often the platform's periodic job looks for checks past their time-out (only in tenants marked as having
# pending avatars), and how often it looks into every tenant anyway, in case a mark was lost with Redis.
AVATARS_SWEEP_SECONDS = env.int("AVATARS_SWEEP_SECONDS", default=300)
AVATARS_FULL_SWEEP_SECONDS = env.int("AVATARS_FULL_SWEEP_SECONDS", default=24 * 3600)
