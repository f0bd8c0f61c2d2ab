"""Settings shared by every environment; values that vary come from the environment (config/env.py).

The other modules (debug, test, master) only give environment defaults or override values.
"""

from datetime import timedelta

from config.env import BASE_DIR, env
from config.settings.tenant_apps import LOCAL_TENANT_APPS
from routers.backends.pool import default_pool_size, require_pool_under_gevent
from routers.databases import control_database, tenant_server_databases

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "core",
    "tenants",
    "tenants.outbox",
    "tenants.outbox.control",
    "accounts",
    "payments",
    "payments.control",
    "pushes",
    "pushes.control",
    "avatars",
    "component",
    "component.releases",
    # The team's own tenant apps (start_tenant_app adds them there).
    *LOCAL_TENANT_APPS,
    "api",
    "console",
]

# Which database each app's tables live in (routers.TenantRouter). Every installed app that has models
# must be in exactly one list; tenants.apps checks this at start-up.
CONTROL_APPS = ["admin", "auth", "knox", "axes", "contenttypes", "sessions", "tenants", "django_rq", "console"]
CONTROL_APPS += ["outbox_control", "payments_control", "pushes_control", "component", "component_releases"]
TENANT_APPS = ["accounts", "outbox", "payments", "pushes", "avatars", *LOCAL_TENANT_APPS]

MIDDLEWARE = [
    "core.request_id.RequestIdMiddleware",
    # Counts and times every answer, the JSON errors and the tenant middleware's refusals included (docs/metrics.md).
    "metrics.middleware.HttpMetricsMiddleware",
    # Any error answer that is not JSON yet (an empty 405, DRF's error in a view's HTML or YAML) becomes JSON.
    "core.error_middleware.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (/static/, and favicon.ico from WHITENOISE_ROOT) from gunicorn itself, before anything asks
    # for a tenant (README, "Static files").
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    # Outside the tenant middleware, so its refusals (404 tenant_not_found, 403 suspended) are private too.
    "core.middleware.PrivateAnswersMiddleware",
    "tenants.middleware.TenantMiddleware",
    "tenants.fair_requests.TenantConcurrencyMiddleware",  # per-tenant bound per worker; usage counts
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login (see AXES_* below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------------------
# `default` is the control database: tenant registry, admin, auth, sessions.
# Tenant databases live on named servers; each server gives two aliases, tenant_<name> (runtime user, rows
# only) and tenant_<name>_ddl (creates, migrates and drops databases; used only by the tenant commands).
CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
# A per-process pool per MySQL alias (routers.backends.pool), for gevent workers: DB_POOL_SIZE 0 means none
# (Django's own connections, CONN_MAX_AGE). With a pool, CONN_MAX_AGE is 0 and the pool keeps the connections.
# Unset, the size follows the process: 8 under gevent (where 0 refuses to start), 0 in threads and processes.
# A pooled connection is pinged when it is checked out (DB_POOL_PING_AFTER 0: every time), so none that died in a
# MySQL restart is handed out, however fast the restart: one round trip per request and alias. A value above 0
# skips the ping for connections idle less than that long (a restart shorter than it fails one request each).
DB_POOL = {
    "size": env.int("DB_POOL_SIZE", default=default_pool_size()),
    "max_overflow": env.int("DB_POOL_MAX_OVERFLOW", default=0),
    "timeout": env.float("DB_POOL_TIMEOUT", default=20.0),
    "recycle": env.int("DB_POOL_RECYCLE", default=3600),
    "ping_after": env.float("DB_POOL_PING_AFTER", default=0.0),
}
# The control database is touched only off the hot path (a registry miss, the admin, the platform API): its pool
# keeps DB_CONTROL_POOL_SIZE connections (1) idle and opens the rest of the same budget only for a burst, closing
# them when they come back, so an idle fleet does not hold a full pool per worker there. Same at-most budget.
DB_CONTROL_POOL = {
    **DB_POOL,
    "size": env.int("DB_CONTROL_POOL_SIZE", default=min(1, DB_POOL["size"])),
    "max_overflow": env.int(
        "DB_CONTROL_POOL_MAX_OVERFLOW", default=max(DB_POOL["size"] + DB_POOL["max_overflow"] - 1, 0)
    ),
}
TENANT_DB_SERVER_NAMES = env.list("TENANT_DB_SERVERS", default=["main"])
DATABASES = {
    "default": control_database(env.db_url("CONTROL_DATABASE_URL"), conn_max_age=CONN_MAX_AGE, pool=DB_CONTROL_POOL),
    **tenant_server_databases(
        {
            name: (env.db_url(f"TENANT_DB_{name.upper()}_URL"), env.db_url(f"TENANT_DB_{name.upper()}_DDL_URL"))
            for name in TENANT_DB_SERVER_NAMES
        },
        conn_max_age=CONN_MAX_AGE,
        pool=DB_POOL,
    ),
}
require_pool_under_gevent(pool=DB_POOL, databases=DATABASES)
DATABASE_ROUTERS = ["routers.TenantRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TENANT_DB_DEFAULT_SERVER = env("TENANT_DB_DEFAULT_SERVER", default=TENANT_DB_SERVER_NAMES[0])

# --- Tenants ---------------------------------------------------------------------------------------------
# The environment this deployment is (master, test, debug, ...): the control database is shared with other
# environments, and each one sees and changes only its own registry rows and Redis keys (tenants.models).
TENANT_ENVIRONMENT = env("TENANT_ENVIRONMENT", default="master")
TENANT_HEADER = env("TENANT_HEADER", default="X-AppID")
TENANT_APP_ID_PATTERN = env("TENANT_APP_ID_PATTERN", default=r"wx[0-9a-f]{16}")
TENANT_DB_PREFIX = env("TENANT_DB_PREFIX", default="mp_")
# A process trusts its own copy of a tenant's registry entry this long: the bound within which suspend,
# resume and drop take effect in every process (the Redis copy is deleted at once by those commands).
TENANT_LOCAL_CACHE_SECONDS = env.float("TENANT_LOCAL_CACHE_SECONDS", default=5.0)
TENANT_SHARED_CACHE_SECONDS = env.int("TENANT_SHARED_CACHE_SECONDS", default=300)
# A tenant frozen for its move (tenants.moving): Retry-After of its 503 tenant_moving, and how long its jobs wait.
TENANT_MOVE_RETRY_AFTER_SECONDS = env.int("TENANT_MOVE_RETRY_AFTER_SECONDS", default=2)
TENANT_MOVE_JOB_DELAY_SECONDS = env.float("TENANT_MOVE_JOB_DELAY_SECONDS", default=2.0)
# Paths that need no tenant: everything else requires a valid X-AppID.
TENANT_EXEMPT_PATHS = ["/healthz", "/readyz", "/admin/", "/platform/", "/api/schema/", "/api/docs/", "/static/"]
# WeChat's pushes name their tenant in the path too (pushes.views; the open platform's under /wechat/v1/component/).
TENANT_EXEMPT_PATHS += ["/wechat/v1/"]
# WeChat Pay's notifications name their tenant in the path (payments.notify_views), with no X-AppID.
TENANT_EXEMPT_PATHS += ["/pay/v1/notify/"]
# Uploaded files (avatars) are public by URL, for WeChat's content check too; served by Django under DEBUG only.
TENANT_EXEMPT_PATHS += ["/media/"]
# Prometheus's scrape names no tenant (metrics.views answers it to METRICS_ALLOWED_NETWORKS only).
TENANT_EXEMPT_PATHS += ["/metrics"]
# Fernet keys (comma-separated, newest first) that encrypt AppSecrets at rest.
TENANT_SECRETS_KEYS = env.list("TENANT_SECRETS_KEYS")

# --- Cache -----------------------------------------------------------------------------------------------
# `default` scopes every key to the active tenant (core.cache.make_tenant_key); `platform` holds keys that
# belong to no tenant, such as the tenant registry's cached entries.
# With REDIS_SENTINELS, REDIS_URL names the master by its Sentinel name (config/settings/sentinel.py).
from config.settings.sentinel import *  # noqa: E402, F403

REDIS_URL = env("REDIS_URL", default="")
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="miniplex")
# Redis connections one process may hold, caches, queue and token holder together (core.redis); a request past
# it waits (up to 5 s) for one to come free instead of failing (benchmarks/README.md).
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=50)
if REDIS_URL:
    _cache_backend = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            # JSON, never pickle: a value in Redis is data, not code (core.cache).
            "CLIENT_CLASS": "core.cache.SafeRedisClient",
            "SERIALIZER": "core.cache.SafeJSONSerializer",
            # The process's one bounded pool, shared with the jobs queue and the token holder (core.redis).
            "CONNECTION_FACTORY": "core.redis.SharedPoolConnectionFactory",
        },
    }
else:
    # The embedded default: an in-process stand-in for Redis.
    _cache_backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**_cache_backend, "KEY_PREFIX": CACHE_KEY_PREFIX, "KEY_FUNCTION": "core.cache.make_tenant_key"},
    "platform": {**_cache_backend, "KEY_PREFIX": f"{CACHE_KEY_PREFIX}:platform"},
}

# --- API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.TenantTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TenantUserThrottle", "api.throttling.TenantAnonThrottle"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.TenantAutoSchema",
    # JSON only, in and out: the schema documents exactly this, and a deep or broken body is a 400.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# Platform staff's API tokens (/platform/v1/): django-rest-knox keeps only their SHA-512 digest.
REST_KNOX = {"TOKEN_TTL": timedelta(days=env.int("PLATFORM_TOKEN_TTL_DAYS", default=30)), "AUTO_REFRESH": False}
# Per tenant: a user (by token) or an anonymous client (by address) of one AppID.
API_THROTTLE_RATES = {
    "user": env("API_THROTTLE_RATE_USER", default="600/min"),
    "anon": env("API_THROTTLE_RATE_ANON", default="120/min"),
}
# How many proxies of ours append to X-Forwarded-For in front of gunicorn (nginx: 1). 0 trusts no such header.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Larger bodies get 413 in JSON (nginx's client_max_body_size says the same).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
AUTH_TOKEN_TTL_SECONDS = env.int("AUTH_TOKEN_TTL_SECONDS", default=30 * 24 * 3600)
SPECTACULAR_SETTINGS = {
    "TITLE": "Miniplex API",
    "DESCRIPTION": "One backend for many WeChat mini-programs. Tenant endpoints need the X-AppID header.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's assets are served from this deployment, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and docs pages need no tenant: no token check (it would need one) and open to all.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Enums named for what they are where several choice sets share a field name (`status`): drf-spectacular would
    # name them by a hash otherwise (drf_spectacular.W001).
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "payments.models.Order.Status"},
}

# --- Admin login rate limit (django-axes) ------------------------------------------------------------------
# Failed logins are counted per username and client address together in the control database (the database
# handler), so an attacker's guesses lock out only that pair: the same user from elsewhere and other users
# from the same address still log in. The address is the one the throttles use (TRUSTED_PROXY_COUNT).
# Unlock: `manage.py axes_reset_username NAME`, `axes_reset_ip ADDRESS` or `axes_reset`.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# The database handler, plus a wider count per address over all usernames (console.login_limit).
AXES_HANDLER = "console.login_limit.LoginLimitHandler"
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "console.lockout.lockout_response"
# Not verbose: no start-up line on every command; lockouts are still logged (WARNING).
AXES_VERBOSE = False

# --- HTTPS behind nginx (README, "TLS and proxies") ------------------------------------------------------------
# HTTPS ends at nginx or at a load balancer in front of it; either way nginx tells gunicorn whether the client's
# request was HTTPS in X-Forwarded-Proto (its own $scheme, or a trusted balancer's word: deploy/nginx), which
# master trusts (SECURE_PROXY_SSL_HEADER). Off here by default, so a plain-HTTP stack (tests, debug) works.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# A load balancer's health checks come over plain HTTP and must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Only needed when a proxy in front changes the Host the browser sent (the admin's CSRF check compares them).
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A refused CSRF check answers in the one JSON error shape, with Django's reason (Django's page is HTML).
CSRF_FAILURE_VIEW = "core.error_views.csrf_failure_view"

# --- WeChat ----------------------------------------------------------------------------------------------
WECHAT_API_BASE = env("WECHAT_API_BASE", default="https://api.weixin.qq.com")
WECHAT_TIMEOUT_SECONDS = env.float("WECHAT_TIMEOUT_SECONDS", default=5.0)
# Redis keys of the fleet-wide access_token holder (one token per AppID).
WECHAT_REDIS_KEY_PREFIX = f"{CACHE_KEY_PREFIX}:wechat"

# --- Background jobs (tenants.jobs) ----------------------------------------------------------------------
# One queue shared by every tenant; each job carries its AppID. Workers: `manage.py rqworker --with-scheduler`
# (the scheduler runs the retries' back-off). With no Redis (the embedded default) jobs run in-process.
JOBS_QUEUE = env("JOBS_QUEUE", default="default")
JOBS_TIMEOUT_SECONDS = env.int("JOBS_TIMEOUT_SECONDS", default=300)
RQ_QUEUES = {
    JOBS_QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOBS_TIMEOUT_SECONDS}
    if REDIS_URL
    else {"ASYNC": False, "DEFAULT_TIMEOUT": JOBS_TIMEOUT_SECONDS}
}
RQ_QUEUES = {name: sentinel_rq_queue(queue) for name, queue in RQ_QUEUES.items()}  # noqa: F405 (django-rq's form)
# tenants.jobs.enqueue waits for the tenant database's commit itself, so django-rq's own mode is "auto".
RQ = {"WORKER_CLASS": "tenants.worker.TenantWorker", "JOB_CLASS": "tenants.jobs.TenantJob", "COMMIT_MODE": "auto"}
# rq reads RQ_KEY_PREFIX from the environment when it is imported; tenants.jobs checks that it matches.
RQ_KEY_PREFIX = env("RQ_KEY_PREFIX", default="rq")
# Temporary errors (WeChat -1 and time-outs, a database or Redis hiccup) are retried this often, this far apart.
JOBS_RETRY_MAX = env.int("JOBS_RETRY_MAX", default=5)
JOBS_RETRY_INTERVALS = env.list("JOBS_RETRY_INTERVALS", cast=int, default=[10, 30, 60, 120, 300])
# A finished job's result stays readable (GET /api/v1/jobs/<id>) this long; a failed one stays in the failed
# registry (the failed_jobs command) this long.
JOBS_RESULT_TTL_SECONDS = 24 * 3600
JOBS_FAILURE_TTL_SECONDS = 30 * 24 * 3600
# A job whose worker is killed is retried after at most heartbeat + grace + maintenance seconds (README);
# rq's own defaults (a 60 s grace, maintenance every 10 minutes) would leave it for far longer.
JOBS_HEARTBEAT_SECONDS = env.int("JOBS_HEARTBEAT_SECONDS", default=10)
JOBS_HEARTBEAT_GRACE_SECONDS = env.int("JOBS_HEARTBEAT_GRACE_SECONDS", default=20)
JOBS_MAINTENANCE_SECONDS = env.int("JOBS_MAINTENANCE_SECONDS", default=30)
# A worker freezes what it has loaded before it takes jobs (tenants.worker.TenantWorker.bootstrap).
JOBS_GC_FREEZE = env.bool("JOBS_GC_FREEZE", default=True)
# The outbox relay (`manage.py relay_outbox`): how often it relays the tenants marked as having records left
# by a Redis outage, and how often it looks into every tenant's outbox as a safety net (one query per tenant).
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=5.0)
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=600)
# The relay deletes a record only once this many Redis replicas have its job (WAIT), so a failover cannot lose a
# job whose record is gone (docs/redis-sentinel.md); one with Sentinel, none for a Redis without replicas.
OUTBOX_WAIT_REPLICAS = env.int("OUTBOX_WAIT_REPLICAS", default=1 if REDIS_SENTINELS else 0)  # noqa: F405
OUTBOX_WAIT_TIMEOUT_MS = env.int("OUTBOX_WAIT_TIMEOUT_MS", default=1000)
# Whether the relay passes (relay_outbox, the workers' maintenance) enqueue the periodic platform jobs
# (tenants.jobs.periodic): reconciliation, certificate refreshes, sweeps. The suite turns them off, so that its
# workers run only the jobs a test enqueued; the tests of each periodic job call it themselves.
PERIODIC_JOBS_ENABLED = env.bool("PERIODIC_JOBS_ENABLED", default=True)

# --- Internationalisation and static files ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Inside the release directory by default: each release serves the files (and manifest) it collected, and a
# rollback switches both back together. `manage.py collectstatic` fills it (fab deploy runs it).
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
# Files served at the site's root by WhiteNoise: the browser asks every page's /favicon.ico there.
WHITENOISE_ROOT = BASE_DIR / "core" / "root_files"

# --- Logging ---------------------------------------------------------------------------------------------
# Every line names its tenant and request (core.logging.TenantContextFilter, on the one handler); root writes
# everything once. Django's default config gives `django` and `django.server` handlers of their own: they are
# emptied here and propagate, so nothing is written twice and nothing is lost. LOG_FORMAT=json: one JSON
# object per line (core.logging.JsonFormatter).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.TenantContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s app_id=%(app_id)s request_id=%(request_id)s %(name)s: %(message)s"
        },
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # urllib3 logs whole URLs at DEBUG, and WeChat's carry the AppSecret or the access_token.
        "urllib3": {"level": "INFO"},
    },
}

# --- Release and Sentry ----------------------------------------------------------------------------------
# The release this code is: `fab deploy` writes it to REVISION in each release directory.
_revision_file = BASE_DIR / "REVISION"
MINIPLEX_RELEASE = env("MINIPLEX_RELEASE", default="") or (
    _revision_file.read_text().strip() if _revision_file.is_file() else "dev"
)
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=MINIPLEX_RELEASE,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- WeChat Pay, WeChat's pushes, open-platform mode -----------------------------------------------------
from config.settings.avatars import *  # noqa: E402, F403
from config.settings.component import *  # noqa: E402, F403
from config.settings.fairness import *  # noqa: E402, F403
from config.settings.metrics import *  # noqa: E402, F403
from config.settings.payments import *  # noqa: E402, F403
from config.settings.pushes import *  # noqa: E402, F403
from config.settings.releases import *  # noqa: E402, F403
