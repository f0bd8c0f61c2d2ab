"""console's migrations: the custom permissions exist; the old plain-text DRF tokens are revoked."""

import importlib

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

pytestmark = pytest.mark.usefixtures("tenant_db")


def test_the_custom_permissions_exist_on_the_tenant_content_type():
    codenames = set(Permission.objects.filter(content_type__app_label="tenants").values_list("codename", flat=True))
    assert {
        "view_tenant",
        "add_tenant",
        "change_tenant",
        "suspend_tenant",
        "rotate_secret",
        "retire_tenant",
    } <= codenames


def test_the_plain_text_drf_tokens_left_by_the_old_release_are_deleted():
    migration = importlib.import_module("console.migrations.0003_revoke_plain_text_drf_tokens")
    with connection.cursor() as cursor:
        # The table as rest_framework.authtoken made it, with a token in plain text.
        cursor.execute("CREATE TABLE authtoken_token (`key` varchar(40) PRIMARY KEY, created datetime, user_id int)")
        try:
            cursor.execute("INSERT INTO authtoken_token VALUES ('0123456789abcdef0123456789abcdef01234567', NOW(), 1)")
            with connection.schema_editor() as editor:
                migration.revoke(None, editor)
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone() == (0,)
        finally:
            cursor.execute("DROP TABLE authtoken_token")
    # Where the table never existed (a new deployment), the migration does nothing and does not fail.
    with connection.schema_editor() as editor:
        migration.revoke(None, editor)
