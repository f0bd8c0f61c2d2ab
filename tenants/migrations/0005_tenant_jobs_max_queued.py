from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_tenant_auth_mode"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="jobs_max_queued",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="jobs queued at most"),
        ),
    ]
