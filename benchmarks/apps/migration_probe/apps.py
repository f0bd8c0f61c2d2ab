from django.apps import AppConfig


class MigrationProbeConfig(AppConfig):
    name = "benchmarks.apps.migration_probe"
    label = "migration_probe"
    default_auto_field = "django.db.models.BigAutoField"
