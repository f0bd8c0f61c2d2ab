"""session_key encrypted at rest: the column is renamed and widened, and every plain value encrypted.

Idempotent (a value that already decrypts is left alone), so a re-run after a failure half-way completes it;
backwards, the values are decrypted again.
"""

from cryptography.fernet import InvalidToken
from django.db import migrations, models

BATCH = 500


def _users(apps, schema_editor):  # noqa: ANN001, ANN202
    user_model = apps.get_model("accounts", "MiniProgramUser")
    return user_model, user_model.objects.using(schema_editor.connection.alias).exclude(session_key_encrypted="")


def encrypt_plain(apps, schema_editor) -> None:  # noqa: ANN001
    from tenants.secrets import secret_decrypt, secret_encrypt

    user_model, users = _users(apps, schema_editor)
    changed = []
    for user in users.only("id", "session_key_encrypted").iterator(chunk_size=BATCH):
        try:
            secret_decrypt(user.session_key_encrypted)
            continue  # encrypted already
        except InvalidToken:
            user.session_key_encrypted = secret_encrypt(user.session_key_encrypted)
        changed.append(user)
    user_model.objects.using(schema_editor.connection.alias).bulk_update(
        changed, ["session_key_encrypted"], batch_size=BATCH
    )


def decrypt(apps, schema_editor) -> None:  # noqa: ANN001
    from tenants.secrets import secret_decrypt

    user_model, users = _users(apps, schema_editor)
    changed = []
    for user in users.only("id", "session_key_encrypted").iterator(chunk_size=BATCH):
        user.session_key_encrypted = secret_decrypt(user.session_key_encrypted)
        changed.append(user)
    user_model.objects.using(schema_editor.connection.alias).bulk_update(
        changed, ["session_key_encrypted"], batch_size=BATCH
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_session_key_and_auth_tokens"),
    ]

    operations = [
        migrations.RenameField(model_name="miniprogramuser", old_name="session_key", new_name="session_key_encrypted"),
        migrations.AlterField(
            model_name="miniprogramuser",
            name="session_key_encrypted",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        migrations.RunPython(encrypt_plain, decrypt),
    ]
