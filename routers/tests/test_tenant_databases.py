import pytest
from django.db import DatabaseError, connections, transaction

from accounts.models import MiniProgramUser
from core.tenant_context import TenantNotActive, activate_tenant, tenant_db_alias
from routers.backends.tenant import TenantSwitchInTransaction, WrongTenantServer
from tenants.app_ids import tenant_db_name
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B, log_queries

pytestmark = pytest.mark.usefixtures("tenant_db")


def context(app_id):
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


def test_a_tenant_model_with_no_active_tenant_fails_closed():
    with pytest.raises(TenantNotActive), log_queries() as log:
        MiniProgramUser.objects.count()
    assert log.queries == []


def test_a_raw_cursor_on_a_tenant_server_with_no_active_tenant_fails_closed():
    with pytest.raises(TenantNotActive):
        connections[tenant_db_alias("main")].cursor()


def test_rows_written_under_one_tenant_are_invisible_under_the_other_both_ways():
    with activate_tenant(context(TENANT_A)):
        MiniProgramUser.objects.create(openid="only-in-a", nickname="A")
        MiniProgramUser.objects.create(openid="also-in-a", nickname="A")
    with activate_tenant(context(TENANT_B)):
        MiniProgramUser.objects.create(openid="only-in-b", nickname="B")
        assert MiniProgramUser.objects.count() == 1
        assert not MiniProgramUser.objects.filter(openid="only-in-a").exists()
        assert list(MiniProgramUser.objects.values_list("nickname", flat=True)) == ["B"]
    with activate_tenant(context(TENANT_A)):
        assert MiniProgramUser.objects.count() == 2
        with pytest.raises(MiniProgramUser.DoesNotExist):
            MiniProgramUser.objects.get(openid="only-in-b")
        assert set(MiniProgramUser.objects.values_list("nickname", flat=True)) == {"A"}


def test_the_same_openid_under_two_tenants_is_two_rows():
    for app_id in (TENANT_A, TENANT_B):
        with activate_tenant(context(app_id)):
            MiniProgramUser.objects.create(openid="same-person", nickname=app_id)
    for app_id in (TENANT_A, TENANT_B):
        with activate_tenant(context(app_id)):
            assert MiniProgramUser.objects.get(openid="same-person").nickname == app_id


def test_switching_tenant_inside_an_open_transaction_raises_and_rolls_the_transaction_back():
    alias = tenant_db_alias("main")
    with activate_tenant(context(TENANT_A)), transaction.atomic(using=alias):
        MiniProgramUser.objects.create(openid="in-a-transaction")
        with activate_tenant(context(TENANT_B)), pytest.raises(TenantSwitchInTransaction):
            MiniProgramUser.objects.create(openid="would-cross-tenants")
    with activate_tenant(context(TENANT_B)):
        assert not MiniProgramUser.objects.filter(openid="would-cross-tenants").exists()
    with activate_tenant(context(TENANT_A)):
        # Django marks the transaction for rollback when a statement inside it raises.
        assert not MiniProgramUser.objects.filter(openid="in-a-transaction").exists()


def test_a_transaction_opened_before_its_first_statement_may_serve_the_next_tenant():
    # atomic() on a connection last used by A, whose first statement is B's: nothing of A is in it.
    with activate_tenant(context(TENANT_A)):
        MiniProgramUser.objects.create(openid="a-user")
    with activate_tenant(context(TENANT_B)), transaction.atomic(using=tenant_db_alias("main")):
        MiniProgramUser.objects.create(openid="b-user")
    with activate_tenant(context(TENANT_B)):
        assert list(MiniProgramUser.objects.values_list("openid", flat=True)) == ["b-user"]


def test_a_tenant_context_naming_another_server_is_refused():
    wrong = tenant_context_for(Tenant(app_id=TENANT_A, db_name=tenant_db_name(TENANT_A), db_server="elsewhere"))
    with activate_tenant(wrong), pytest.raises(WrongTenantServer):
        connections[tenant_db_alias("main")].cursor()


def test_a_reconnected_session_is_pointed_at_the_tenant_again():
    alias = tenant_db_alias("main")
    with activate_tenant(context(TENANT_A)):
        MiniProgramUser.objects.create(openid="a-user")
    with activate_tenant(context(TENANT_B)):
        MiniProgramUser.objects.count()
        connections[alias].close()  # the next statement runs on a new server session
        assert MiniProgramUser.objects.count() == 0
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT DATABASE()")
            assert cursor.fetchone()[0] == tenant_db_name(TENANT_B)


def test_the_runtime_user_reads_and_writes_rows_but_cannot_change_schemas():
    with activate_tenant(context(TENANT_A)), connections[tenant_db_alias("main")].cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone()[0].startswith("miniplex_app@")
        for statement in ("CREATE TABLE intruder (id INT)", "DROP TABLE accounts_miniprogramuser"):
            with pytest.raises(DatabaseError, match="denied"):
                cursor.execute(statement)
        with pytest.raises(DatabaseError, match="denied"):
            cursor.execute("CREATE DATABASE mp_intruder")
