"""Check-in's tests: the payments fixtures (fake WeChat Pay, merchants) and a clean-up of purchases."""

from collections.abc import Iterator

import pytest

from checkin.models import CheckinSettings, Reward, RewardPurchase
from core.tenant_context import activate_tenant
from payments.tests.conftest import merchant_a, merchant_b, pay_server, pay_server_session  # noqa: F401
from payments.tests.helpers import notify_live, orders_cleaned  # noqa: F401
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import SESSION_TENANTS


@pytest.fixture(autouse=True)
def checkin_cleaned(orders_cleaned: None) -> Iterator[None]:  # noqa: F811
    """What the root clean-up (which deletes the users) leaves: settings and rewards. Purchases hold their orders
    (PROTECT), so they go before payments' clean-up takes the orders."""
    yield
    for tenant in Tenant.objects.filter(app_id__in=SESSION_TENANTS):
        with activate_tenant(tenant_context_for(tenant)):
            RewardPurchase.objects.all().delete()
            Reward.objects.all().delete()
            CheckinSettings.objects.all().delete()
