"""A tenant app contributes what the console shows through console.registry, with no edit in tenants/ or console/."""

import pytest

from console import registry
from core.tenant_context import require_current_tenant
from tenants.models import Tenant
from tests.helpers import TENANT_A


@pytest.fixture
def second_app(monkeypatch):
    """Registers a fact as a second tenant app's ready() would; the registry is put back afterwards."""
    monkeypatch.setattr(registry, "_facts", dict(registry._facts))
    seen = []

    def orders_count() -> int:
        seen.append(require_current_tenant().app_id)  # read with the tenant active, or TenantNotActive
        return 7

    registry.register_tenant_fact(name="orders", read=orders_count)
    return seen


def test_accounts_contributes_its_users_count_and_page():
    # Other tenant apps (payments, avatars, checkin ...) contribute theirs beside it.
    assert "users" in [fact.name for fact in registry.tenant_facts_registered()]
    assert ("users", "Users") in [(page.name, page.label) for page in registry.tenant_pages_registered()]


def test_a_second_tenant_apps_fact_is_shown_in_the_admin_and_the_platform_api(second_app, admin_client):
    pk = Tenant.objects.get(app_id=TENANT_A).pk
    html = admin_client.get(f"/admin/tenants/tenant/{pk}/change/").content.decode()
    assert "users: 0 · " in html
    assert " · orders: 7 · database:" in html  # the newest contribution last, after the other apps' facts
    facts = admin_client.get(f"/platform/v1/tenants/{TENANT_A}").json()["facts"]
    assert (facts["users"], facts["orders"]) == (0, 7)
    assert second_app == [TENANT_A, TENANT_A]  # once per page, each time in the tenant's own context
    schema = admin_client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["TenantFacts"]["properties"]["orders"] == {
        "type": "integer",
        "nullable": True,
    }


def test_a_tenant_still_provisioning_shows_no_contributed_fact_and_reads_none(second_app, admin_client):
    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.PROVISIONING)
    facts = admin_client.get(f"/platform/v1/tenants/{TENANT_A}").json()["facts"]
    assert (facts["users"], facts["orders"], facts["database_bytes"]) == (None, None, None)
    assert second_app == []


def test_one_name_registered_twice_by_two_apps_is_refused(second_app):
    with pytest.raises(ValueError, match="'orders' is registered twice"):
        registry.register_tenant_fact(name="orders", read=lambda: 0)
