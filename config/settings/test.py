"""The test environment: the real local MariaDB and Redis, with the accounts of scripts/mysql-accounts.sql.

The suite runs on this module; a deployed test environment sets the same variables to its own servers.
"""

from config.env import set_defaults

set_defaults(
    {
        "DJANGO_SECRET_KEY": "test-only-not-secret-miniplex",
        "CONTROL_DATABASE_URL": "mysql://root@127.0.0.1:3306/miniplex_control",
        "TENANT_DB_MAIN_URL": "mysql://miniplex_app:miniplex_app@127.0.0.1:3306/",
        "TENANT_DB_MAIN_DDL_URL": "mysql://miniplex_ddl:miniplex_ddl@127.0.0.1:3306/",
        "TENANT_DB_PREFIX": "mp_test_",
        "TENANT_SECRETS_KEYS": "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": "miniplex-test",
        # rq's keys of the test environment stay apart from a real deployment's on the same Redis (and
        # under CACHE_KEY_PREFIX, so the suite's clean-up of "miniplex-test*" keys removes them too).
        "RQ_KEY_PREFIX": "miniplex-test-rq",
    }
)

from config.settings.base import *  # noqa: E402,F403
