import pytest
from django.conf import settings

from accounts.models import MiniProgramUser
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import SESSION_TENANTS, mysql_rows, tenant_databases_on_server

pytestmark = pytest.mark.usefixtures("tenant_db")


def test_emoji_and_rare_han_characters_survive_a_write_and_a_read():
    nickname = "小明😀𠜎"
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=SESSION_TENANTS[0]))):
        MiniProgramUser.objects.create(openid="emoji-user", nickname=nickname)
        assert MiniProgramUser.objects.get(openid="emoji-user").nickname == nickname


def test_every_tenant_database_is_utf8mb4_unicode_ci():
    names = tenant_databases_on_server()
    assert names == {f"{settings.TENANT_DB_PREFIX}{app_id}" for app_id in SESSION_TENANTS}
    placeholders = ", ".join(["%s"] * len(names))
    rows = mysql_rows(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME IN ({placeholders})",
        tuple(names),
    )
    assert rows == [("utf8mb4", "utf8mb4_unicode_ci")] * len(names)
    columns = mysql_rows(
        "SELECT DISTINCT COLLATION_NAME FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA IN ({placeholders}) AND TABLE_NAME = 'accounts_miniprogramuser' "
        "AND COLLATION_NAME IS NOT NULL",
        tuple(names),
    )
    assert columns == [("utf8mb4_unicode_ci",)]
