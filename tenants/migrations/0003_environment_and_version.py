"""Each registry row belongs to one environment, and carries the version the cached entries follow.

The control database is shared by the environments (production's is the test environment's), and this
migration runs once for all of them, so existing rows are given the environment that made them, told by
their database name: TENANT_DB_PREFIX + AppID of the environment running it is that environment's, a
name that starts with `mp_test` (the test settings' prefix) is `test`'s, and any other is `master`'s.
"""

from django.conf import settings
from django.db import migrations, models

import tenants.models


def assign_environments(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    for tenant in Tenant.objects.using(schema_editor.connection.alias).all():
        if tenant.db_name == f"{settings.TENANT_DB_PREFIX}{tenant.app_id}":
            environment = settings.TENANT_ENVIRONMENT
        elif tenant.db_name.startswith("mp_test"):
            environment = "test"
        else:
            environment = "master"
        Tenant.objects.using(schema_editor.connection.alias).filter(pk=tenant.pk).update(environment=environment)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_provisioning_job_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="environment",
            field=models.CharField(default=tenants.models.registry_environment, editable=False, max_length=32),
        ),
        migrations.RunPython(assign_environments, migrations.RunPython.noop),
        migrations.AddField(
            model_name="tenant",
            name="version",
            field=models.PositiveBigIntegerField(default=tenants.models.version_initial, editable=False),
        ),
        migrations.AlterField(
            model_name="tenant",
            name="app_id",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterModelOptions(
            name="tenant",
            options={"default_manager_name": "objects", "ordering": ["app_id"]},
        ),
        migrations.AddConstraint(
            model_name="tenant",
            constraint=models.UniqueConstraint(
                fields=("environment", "app_id"), name="tenants_tenant_environment_app_id"
            ),
        ),
    ]
