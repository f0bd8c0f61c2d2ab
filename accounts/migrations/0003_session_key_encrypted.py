"""session_key encrypted at rest: a new column holds every value encrypted, the plain column is emptied.

Written to suit the previous release too (a rollback does not undo migrations): the plain column stays,
emptied and nullable, so the previous release still finds it (its users log in again to get a session_key
there); only the model forgets it. A later release drops it. The data step is idempotent: a re-run after a
failure half-way completes it. Backwards, the values are decrypted into the plain column again.
"""

from django.db import migrations, models

BATCH = 500


def encrypt_plain(apps, schema_editor) -> None:  # noqa: ANN001
    from tenants.secrets import secret_encrypt

    users = apps.get_model("accounts", "MiniProgramUser").objects.using(schema_editor.connection.alias)
    changed = []
    for user in users.exclude(session_key="").exclude(session_key=None).only("id", "session_key").iterator(BATCH):
        user.session_key_encrypted, user.session_key = secret_encrypt(user.session_key), ""
        changed.append(user)
    users.bulk_update(changed, ["session_key_encrypted", "session_key"], batch_size=BATCH)


def decrypt(apps, schema_editor) -> None:  # noqa: ANN001
    from tenants.secrets import secret_decrypt

    users = apps.get_model("accounts", "MiniProgramUser").objects.using(schema_editor.connection.alias)
    users.filter(session_key=None).update(session_key="")
    changed = []
    for user in users.exclude(session_key_encrypted="").only("id", "session_key_encrypted").iterator(BATCH):
        user.session_key, user.session_key_encrypted = secret_decrypt(user.session_key_encrypted), ""
        changed.append(user)
    users.bulk_update(changed, ["session_key", "session_key_encrypted"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_session_key_and_auth_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="miniprogramuser",
            name="session_key_encrypted",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        # Nullable, so rows inserted by this release (which no longer writes it) need no value for it.
        migrations.AlterField(
            model_name="miniprogramuser",
            name="session_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(encrypt_plain, decrypt),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="miniprogramuser", name="session_key")]
        ),
    ]
