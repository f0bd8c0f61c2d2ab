"""The test environment: the real local MariaDB and Redis, with the accounts of scripts/mysql-accounts.sql.

The suite runs on this module; a deployed test environment sets the same variables to its own servers.
"""

import os
from pathlib import Path

from config.env import set_defaults

# MINIPLEX_TEST_RUN (set by `./dev test`) gives one run's databases and keys names of their own, so two runs
# on one machine never drop each other's databases; unset, the names are the plain ones below.
_RUN = os.environ.get("MINIPLEX_TEST_RUN", "")
_SUFFIX = f"_{_RUN}" if _RUN else ""

set_defaults(
    {
        "DJANGO_SECRET_KEY": "test-only-not-secret-miniplex",
        "CONTROL_DATABASE_URL": f"mysql://root@127.0.0.1:3306/miniplex_control{_SUFFIX}",
        "TENANT_DB_MAIN_URL": "mysql://miniplex_app:miniplex_app@127.0.0.1:3306/",
        "TENANT_DB_MAIN_DDL_URL": "mysql://miniplex_ddl:miniplex_ddl@127.0.0.1:3306/",
        "TENANT_DB_PREFIX": f"mp_test{_SUFFIX}_",
        "TENANT_SECRETS_KEYS": "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": f"miniplex-test{_SUFFIX}",
        # rq's keys of the test environment stay apart from a real deployment's on the same Redis (and
        # under CACHE_KEY_PREFIX, so the suite's clean-up of "miniplex-test*" keys removes them too).
        "RQ_KEY_PREFIX": f"miniplex-test{_SUFFIX}-rq",
    }
)

from config.settings.base import *  # noqa: E402,F403

# The suite runs from a checkout where collectstatic has not run: WhiteNoise finds the apps' static files
# itself, as in debug (a deployed test environment runs collectstatic like any deploy). The folder is made
# here, as debug makes var/, so that WhiteNoise does not warn about a missing one at every start.
WHITENOISE_USE_FINDERS = True
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
