"""The custom permissions of platform actions, on the Tenant content type (see console/permissions.py).

Created here rather than in Tenant.Meta.permissions so that tenants' own migration graph stays as it is.
"""

from django.db import migrations

CUSTOM = {
    "suspend_tenant": "Can suspend and resume tenants",
    "rotate_secret": "Can rotate a tenant's AppSecret",
    "retire_tenant": "Can retire tenants (deletes their data)",
}


def create(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    alias = schema_editor.connection.alias
    # On a fresh database content types are made only after every migration: make Tenant's now.
    tenant_type, _ = ContentType.objects.using(alias).get_or_create(app_label="tenants", model="tenant")
    for codename, name in CUSTOM.items():
        Permission.objects.using(alias).update_or_create(
            content_type=tenant_type, codename=codename, defaults={"name": name}
        )


def delete(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    alias = schema_editor.connection.alias
    Permission.objects.using(alias).filter(content_type__app_label="tenants", codename__in=CUSTOM).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        ("tenants", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, delete)]
