"""WeChat's session_key is stored encrypted (Fernet, the AppSecrets' keys), and plain values of older
databases are encrypted by the migration."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from core.tenant_context import activate_tenant, tenant_ddl_alias
from tenants.models import Tenant
from tenants.schema import tenant_schema_migrate
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_C, mysql_rows
from wechat.fake_server import fake_openid

PLAIN_SESSION_KEY = "c2Vzc2lvbi1rZXktb2xkLTE="  # 24 characters of base64, like WeChat's


def stored_session_key(app_id: str, openid: str) -> str:
    database = Tenant.objects.get(app_id=app_id).db_name
    [(value,)] = mysql_rows(
        f"SELECT session_key_encrypted FROM `{database}`.accounts_miniprogramuser WHERE openid = %s", (openid,)
    )
    return value


def test_the_session_key_of_a_login_is_stored_encrypted_and_read_back_plain(wechat):
    assert TenantClient(TENANT_A).login("code-alice").status_code == 200
    openid = fake_openid(TENANT_A, "code-alice")
    given = wechat.state.session_keys[(TENANT_A, openid)]
    stored = stored_session_key(TENANT_A, openid)
    assert given not in stored
    assert secret_decrypt(stored) == given
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        assert MiniProgramUser.objects.get(openid=openid).session_key == given


def test_a_wrong_key_cannot_read_it(wechat):
    assert TenantClient(TENANT_A).login("code-bob").status_code == 200
    stored = stored_session_key(TENANT_A, fake_openid(TENANT_A, "code-bob"))
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored.encode())


def migrate_to(tenant: Tenant, target: tuple[str, str]) -> None:
    with activate_tenant(tenant_context_for(tenant)):
        connection = connections[tenant_ddl_alias(tenant.db_server)]
        try:
            executor = MigrationExecutor(connection)
            executor.migrate([target])
        finally:
            connection.close()


@pytest.mark.usefixtures("tenant_db")
def test_the_migration_encrypts_the_plain_session_keys_of_an_older_database():
    tenant = Tenant.objects.get(app_id=TENANT_C)
    database = tenant.db_name
    migrate_to(tenant, ("accounts", "0002_session_key_and_auth_tokens"))
    try:
        mysql_rows(
            f"INSERT INTO `{database}`.accounts_miniprogramuser "
            "(openid, unionid, nickname, avatar_url, phone, session_key, created_at, updated_at) "
            "VALUES ('old-user', '', '', '', '', %s, NOW(), NOW()), ('no-key', '', '', '', '', '', NOW(), NOW())",
            (PLAIN_SESSION_KEY,),
        )
    finally:
        applied = tenant_schema_migrate(tenant=tenant)
    assert "accounts.0003_session_key_encrypted" in applied
    stored = stored_session_key(TENANT_C, "old-user")
    assert PLAIN_SESSION_KEY not in stored
    assert secret_decrypt(stored) == PLAIN_SESSION_KEY
    assert stored_session_key(TENANT_C, "no-key") == ""
    # The plain column stays for the previous release (a rollback), emptied.
    plain = mysql_rows(f"SELECT session_key FROM `{database}`.accounts_miniprogramuser ORDER BY openid")
    assert plain == [("",), ("",)]
    with activate_tenant(tenant_context_for(tenant)):
        assert MiniProgramUser.objects.get(openid="old-user").session_key == PLAIN_SESSION_KEY
        assert MiniProgramUser.objects.get(openid="no-key").session_key == ""
