from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_tenant_move"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="schema_fingerprint",
            field=models.CharField(blank=True, default="", editable=False, max_length=16),
        ),
    ]
