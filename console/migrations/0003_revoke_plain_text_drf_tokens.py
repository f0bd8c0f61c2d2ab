"""Platform staff's DRF tokens were stored in plain text (rest_framework.authtoken); django-rest-knox replaced them.

The old rows are deleted, so no usable token is left in the control database; the table itself is left for a
release that still runs the old code (it answers 401 to those tokens now) and can be dropped one release later.
Staff make a new token with `manage.py drf_create_token USERNAME`.
"""

from django.db import migrations

OLD_TABLE = "authtoken_token"


def revoke(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(OLD_TABLE)}")  # noqa: S608 - a fixed name


class Migration(migrations.Migration):
    dependencies = [("console", "0002_tenant_permissions")]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
