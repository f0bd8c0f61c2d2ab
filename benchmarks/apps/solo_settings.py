"""One mini-program's own Django project: the same code as Miniplex with tenancy off (the consolidation baseline).

What a team runs without Miniplex: one deployment per mini-program, each with its own single database. The
apps, middleware, DRF settings, serializers, authentication and throttles are Miniplex's (benchmarks.apps.settings),
except what makes it multi-tenant:

- no TenantMiddleware and no per-tenant fairness middleware: no X-AppID is read, no registry entry is looked up;
- one database, `default` = this mini-program's database (SOLO_DATABASE_URL), on the same driver and pool as
  Miniplex's (PyMySQL under gevent, routers.backends.pooled_mysql: Django's own connections leak under gevent);
- no database router: every model, the users' and tokens' too, lives in `default`.

GET /api/v1/me is Miniplex's own view (api.me.MeApi: the same token query, serializer and throttle); GET
/api/v1/ping answers SOLO_APP_ID from settings. Served by the shipped gunicorn config (benchmarks/consolidation.py
runs 50 of them, one worker each).
"""

from benchmarks.apps.settings import *  # noqa: F403
from benchmarks.apps.settings import DB_POOL, MIDDLEWARE, TENANT_EXEMPT_PATHS
from config.env import env
from routers.databases import control_database

SOLO_APP_ID = env("SOLO_APP_ID", default="wx0000000000000000")
TENANCY_MIDDLEWARE = ("tenants.middleware.TenantMiddleware", "tenants.fair_requests.TenantConcurrencyMiddleware")
MIDDLEWARE = [name for name in MIDDLEWARE if name not in TENANCY_MIDDLEWARE]
# The same engine, pool and connection settings as Miniplex's control database, pointed at this mini-program's.
DATABASES = {"default": control_database(env.db_url("SOLO_DATABASE_URL"), conn_max_age=0, pool=DB_POOL)}
DATABASE_ROUTERS = []
ROOT_URLCONF = "benchmarks.apps.solo_urls"
# Nothing here resolves a tenant; the list stays for code that reads it.
TENANT_EXEMPT_PATHS = [*TENANT_EXEMPT_PATHS, "/api/"]
