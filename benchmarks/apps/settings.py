"""The benchmark's Django settings: the test environment's (the real MariaDB and Redis) plus the baseline views.

Every value still comes from the environment, which the runner sets (benchmarks/stack.py: its own databases,
MySQL users, cache and rq prefixes). The baselines sit under an exempt path, so no tenant is resolved for them;
everything else (middleware, logging, DRF settings) is the product's.
"""

from config.settings.test import *  # noqa: F403
from config.settings.test import TENANT_EXEMPT_PATHS

ROOT_URLCONF = "benchmarks.apps.urls"
TENANT_EXEMPT_PATHS = [*TENANT_EXEMPT_PATHS, "/bench/plain/"]
