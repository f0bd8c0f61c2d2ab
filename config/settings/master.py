"""Production. Secrets have no default: a missing one stops start-up with its name.

Required: DJANGO_SECRET_KEY, CONTROL_DATABASE_URL (the test environment's control database: admin accounts
and the tenant registry are shared with it), TENANT_DB_<SERVER>_URL and TENANT_DB_<SERVER>_DDL_URL for each
server in TENANT_DB_SERVERS, TENANT_SECRETS_KEYS, REDIS_URL. Nothing here creates tables at run time:
migrations run only through `manage.py migrate` (control) and `migrate_tenants` (tenants), at deploy time.
"""

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = False
REDIS_URL = env("REDIS_URL")  # no in-process stand-in in production
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
