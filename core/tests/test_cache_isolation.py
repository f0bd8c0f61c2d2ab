from django.core.cache import cache

from core.tenant_context import TenantContext, activate_tenant

A = TenantContext(app_id="wx00000000000000a1", db_name="mp_test_wx00000000000000a1", server="main")
B = TenantContext(app_id="wx00000000000000b2", db_name="mp_test_wx00000000000000b2", server="main")


def test_the_same_cache_key_holds_a_separate_value_per_tenant_in_redis():
    with activate_tenant(A):
        cache.set("greeting", "hello from A", 30)
    with activate_tenant(B):
        assert cache.get("greeting") is None
        cache.set("greeting", "hello from B", 30)
    with activate_tenant(A):
        assert cache.get("greeting") == "hello from A"
        cache.delete("greeting")
    with activate_tenant(B):
        assert cache.get("greeting") == "hello from B"
        cache.delete("greeting")
