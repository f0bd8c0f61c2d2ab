"""Times on the tenant's admin page are in TIME_ZONE (Asia/Shanghai), to the second, with their zone."""

from datetime import UTC, datetime

from django.core.cache import caches

from accounts.models import MiniProgramUser
from core.tenant_context import activate_tenant
from tenants import activity
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A

# 2026-12-01 03:04:05.678901 UTC is 11:04:05 in Shanghai (UTC+8, no summer time).
MOMENT = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)


def test_the_last_request_time_is_local_and_to_the_second(admin_client, settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    caches["platform"].set(activity._key(TENANT_A), MOMENT.timestamp(), timeout=None)
    html = admin_client.get(f"/admin/tenants/tenant/{Tenant.objects.get(app_id=TENANT_A).pk}/change/").content.decode()
    assert "last request: 2026-12-01 11:04:05 CST" in html
    assert "678901" not in html and "+00:00" not in html and "03:04:05" not in html


def test_the_users_page_shows_local_times_to_the_second(admin_client):
    tenant = Tenant.objects.get(app_id=TENANT_A)
    with activate_tenant(tenant_context_for(tenant)):
        user = MiniProgramUser.objects.create(openid="timed")
        MiniProgramUser.objects.filter(pk=user.pk).update(created_at=MOMENT)
    html = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/users/").content.decode()
    assert "2026-12-01 11:04:05 CST" in html
