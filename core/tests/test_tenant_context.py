import threading

import pytest

from core.cache import make_tenant_key
from core.tenant_context import TenantContext, activate_tenant, get_current_tenant, require_current_tenant

A = TenantContext(app_id="wx00000000000000a1", db_name="mp_test_wx00000000000000a1", server="main")
B = TenantContext(app_id="wx00000000000000b2", db_name="mp_test_wx00000000000000b2", server="main")


def test_activate_restores_the_previous_tenant_even_when_the_block_raises():
    with activate_tenant(A):
        with pytest.raises(ZeroDivisionError), activate_tenant(B):
            assert get_current_tenant() == B
            1 / 0  # noqa: B018
        assert get_current_tenant() == A
    assert get_current_tenant() is None


def test_require_without_a_tenant_fails_closed():
    with pytest.raises(RuntimeError, match="no tenant is active"):
        require_current_tenant()


def test_a_tenant_activated_in_one_thread_is_not_seen_in_another():
    seen = []
    with activate_tenant(A):
        thread = threading.Thread(target=lambda: seen.append(get_current_tenant()))
        thread.start()
        thread.join()
    assert seen == [None]


@pytest.mark.parametrize("db_name", ["mp`x", "mp;DROP", "../x", "a" * 65, "mp x", "mpх"])
def test_unsafe_database_names_are_refused(db_name):
    with pytest.raises(ValueError, match="unsafe"):
        TenantContext(app_id="wx00000000000000a1", db_name=db_name, server="main")


def test_cache_keys_carry_the_active_tenant():
    with activate_tenant(A):
        key_a = make_tenant_key("profile:1", "miniplex", 1)
    with activate_tenant(B):
        key_b = make_tenant_key("profile:1", "miniplex", 1)
    assert key_a == "miniplex:1:wx00000000000000a1:profile:1"
    assert key_b == "miniplex:1:wx00000000000000b2:profile:1"
    assert make_tenant_key("profile:1", "miniplex", 1) == "miniplex:1:_platform:profile:1"
