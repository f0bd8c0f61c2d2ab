"""The test environment: the real local MariaDB and Redis, with the accounts of scripts/mysql-accounts.sql.

The suite runs on this module; a deployed test environment sets the same variables to its own servers.
Its built-in secret keys are in this public repository, so they are defaults only while every database is
on this machine: a test environment whose databases are elsewhere (it shares the control database with
production) must be given keys of its own, and refuses to start with the built-in ones.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env, set_defaults

# MINIPLEX_TEST_RUN (set by `./dev test`) gives one run's databases and keys names of their own, so two runs
# on one machine never drop each other's databases; unset, the names are the plain ones below.
_RUN = os.environ.get("MINIPLEX_TEST_RUN", "")
_SUFFIX = f"_{_RUN}" if _RUN else ""

# Public (they are written here): tenants.checks refuses them wherever a database is not local.
_BUILTIN_KEYS = {
    "DJANGO_SECRET_KEY": "test-only-not-secret-miniplex",
    "TENANT_SECRETS_KEYS": "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
}
_LOCAL_HOSTS = frozenset({"", "127.0.0.1", "localhost", "::1", "[::1]"})

set_defaults(
    {
        "TENANT_ENVIRONMENT": "test",
        "CONTROL_DATABASE_URL": f"mysql://root@127.0.0.1:3306/miniplex_control{_SUFFIX}",
        "TENANT_DB_MAIN_URL": "mysql://miniplex_app:miniplex_app@127.0.0.1:3306/",
        "TENANT_DB_MAIN_DDL_URL": "mysql://miniplex_ddl:miniplex_ddl@127.0.0.1:3306/",
        "TENANT_DB_PREFIX": f"mp_test{_SUFFIX}_",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": f"miniplex-test{_SUFFIX}",
        # rq's keys of the test environment stay apart from a real deployment's on the same Redis (and
        # under CACHE_KEY_PREFIX, so the suite's clean-up of "miniplex-test*" keys removes them too).
        "RQ_KEY_PREFIX": f"miniplex-test{_SUFFIX}-rq",
        # The suite's workers run only what a test enqueued (a deployed test environment sets it to true).
        "PERIODIC_JOBS_ENABLED": "false",
    }
)


def _remote_database_hosts() -> list[str]:
    """Hosts of the control and tenant databases that are not this machine (a socket path is local)."""
    variables = ["CONTROL_DATABASE_URL"]
    for server in env.list("TENANT_DB_SERVERS", default=["main"]):
        variables += [f"TENANT_DB_{server.upper()}_URL", f"TENANT_DB_{server.upper()}_DDL_URL"]
    hosts = [env.db_url(name).get("HOST", "") for name in variables if name in os.environ]
    return [host for host in hosts if host not in _LOCAL_HOSTS and not host.startswith("/")]


_REMOTE = _remote_database_hosts()
if not _REMOTE:
    set_defaults(_BUILTIN_KEYS)
else:
    for _name, _builtin in _BUILTIN_KEYS.items():
        if _builtin in env.list(_name, default=[]):
            raise ImproperlyConfigured(
                f"miniplex.E001: {_name} is the repository's built-in test key, and the databases are not on "
                f"this machine ({', '.join(sorted(set(_REMOTE)))}): give this environment keys of its own."
            )
    # Otherwise base.py's env() names the missing key: "Set the DJANGO_SECRET_KEY environment variable".

from config.settings.base import *  # noqa: E402,F403

# The suite runs from a checkout where collectstatic has not run: WhiteNoise finds the apps' static files
# itself, as in debug (a deployed test environment runs collectstatic like any deploy). The folder is made
# here, as debug makes var/, so that WhiteNoise does not warn about a missing one at every start.
WHITENOISE_USE_FINDERS = True
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
