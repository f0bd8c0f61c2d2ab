"""benchmarks.apps.settings plus the throwaway tenant app benchmarks.apps.migration_probe (one migration), so that
benchmarks.tenants10k can time one real migration over every tenant without a migration in a shipped app."""

from benchmarks.apps.settings import *  # noqa: F403
from benchmarks.apps.settings import INSTALLED_APPS, TENANT_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.apps.migration_probe"]
TENANT_APPS = [*TENANT_APPS, "migration_probe"]
