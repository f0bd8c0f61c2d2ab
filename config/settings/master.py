"""Production. Secrets have no default: a missing one stops start-up with its name.

Required: DJANGO_SECRET_KEY, CONTROL_DATABASE_URL (the test environment's control database: admin accounts
and the tenant registry are shared with it), TENANT_DB_<SERVER>_URL and TENANT_DB_<SERVER>_DDL_URL for each
server in TENANT_DB_SERVERS, TENANT_SECRETS_KEYS, REDIS_URL. Nothing here creates tables at run time:
migrations run only through `manage.py migrate` (control) and `migrate_tenants` (tenants), at deploy time.
"""

from config.env import env, set_defaults

# gunicorn's gevent workers borrow MySQL connections from a bounded pool per alias (routers.backends.pool):
# at most workers x aliases x DB_POOL_SIZE connections per host (README, "Deployment"). 0 turns it off.
set_defaults({"DB_POOL_SIZE": "8"})

from config.settings.base import *  # noqa: E402,F403

DEBUG = False
REDIS_URL = env("REDIS_URL")  # no in-process stand-in in production
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Static files with content hashes in their names (cached for a year by browsers, WhiteNoise says `immutable`)
# and gzip copies made at collectstatic time. The manifest exists only after collectstatic, which every deploy
# runs; debug and test keep Django's plain storage, so they need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
