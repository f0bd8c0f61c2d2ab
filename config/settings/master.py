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
# HTTPS ends at nginx or at a load balancer in front of it (README, "TLS and proxies"). nginx always sets
# X-Forwarded-Proto itself (its own scheme, or the value of a balancer it trusts: deploy/nginx/miniplex.conf),
# so the header gunicorn passes on is nginx's word, never a client's. gunicorn is reachable from 127.0.0.1 only.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The redirect to HTTPS and HSTS come from DJANGO_SECURE_SSL_REDIRECT and DJANGO_SECURE_HSTS_SECONDS (base);
# `check --deploy` warns (W004, W008) until they are set, as it should for a site still on plain HTTP.
# security.W021 (HSTS preload) is silenced: the preload list takes whole registrable domains, submitted by hand
# at hstspreload.org, which is a decision about the domain, not about this API host. Once the domain is
# submitted, DJANGO_SECURE_HSTS_PRELOAD=true adds the directive (and the check has nothing to say).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Static files with content hashes in their names (cached for a year by browsers, WhiteNoise says `immutable`)
# and gzip copies made at collectstatic time. The manifest exists only after collectstatic, which every deploy
# runs; debug and test keep Django's plain storage, so they need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
