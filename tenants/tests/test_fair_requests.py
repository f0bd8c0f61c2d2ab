"""Fair requests (tenants.fair_requests) and usage per tenant (core.usage) in-process, on the real MariaDB and
Redis: a tenant at its bound of requests in progress is refused with 429 tenant_busy and Retry-After while the
others are served; requests, errors, jobs and WeChat calls are counted per tenant per day and shown in the
admin and in GET /platform/v1/tenants/<app_id>. tests/e2e/test_fair_requests.py floods a real gunicorn.
"""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from knox.models import AuthToken

from api.tests.conftest import TenantClient
from core.concurrency import TenantSlots
from core.usage import KINDS, usage_days, usage_flush
from tenants.fair_requests import tenant_slots
from tenants.jobs import fairness
from tenants.jobs.release import job_taken
from tenants.models import Tenant
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat", "tenant_db")


@pytest.fixture(autouse=True)
def counted_at_once(tenant_db: None, settings) -> Iterator[None]:  # noqa: ANN001
    settings.USAGE_FLUSH_SECONDS = 0  # every count written at once: the test reads what it did
    usage_flush()
    yield
    Tenant.objects.filter(app_id__in=[TENANT_A, TENANT_B]).update(jobs_max_queued=None)
    fairness.tenant_bound_forget(app_id=TENANT_A)


def today(app_id: str) -> dict[str, int]:
    row = usage_days(app_id=app_id, days=1)[0]
    return {kind: int(row[kind]) for kind in KINDS}


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {kind: after[kind] - before[kind] for kind in KINDS if after[kind] != before[kind]}


def test_slots_are_taken_up_to_the_bound_and_given_back():
    slots = TenantSlots()
    assert [slots.take("a", 2) for _ in range(3)] == [True, True, False]
    assert slots.take("b", 2)
    slots.give_back("a")
    assert slots.take("a", 2)
    assert slots.snapshot() == {"a": 2, "b": 1}
    for _ in range(2):
        slots.give_back("a")
    assert slots.snapshot() == {"b": 1}  # an idle tenant takes no memory


def test_a_tenant_at_its_bound_gets_429_tenant_busy_and_the_others_are_served(settings):  # noqa: ANN001
    settings.TENANT_MAX_CONCURRENT_PER_WORKER = 1
    a, b = TenantClient(TENANT_A), TenantClient(TENANT_B)
    before = today(TENANT_A)
    assert tenant_slots.take(TENANT_A, 1)  # one request of A in progress in this process
    try:
        refused = a.get("/api/v1/ping")
        assert b.get("/api/v1/ping").status_code == 200
    finally:
        tenant_slots.give_back(TENANT_A)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "tenant_busy"
    assert refused["Retry-After"] == str(settings.TENANT_BUSY_RETRY_AFTER_SECONDS)
    assert a.get("/api/v1/ping").status_code == 200  # its slot is free again
    assert tenant_slots.in_progress(TENANT_A) == 0
    assert grown(before, today(TENANT_A)) == {"requests": 2, "busy": 1}


def test_without_a_bound_nothing_is_refused(settings):  # noqa: ANN001
    settings.TENANT_MAX_CONCURRENT_PER_WORKER = 0
    assert tenant_slots.take(TENANT_A, 1)
    try:
        assert TenantClient(TENANT_A).get("/api/v1/ping").status_code == 200
    finally:
        tenant_slots.give_back(TENANT_A)


def test_requests_errors_jobs_and_wechat_calls_are_counted_per_tenant_per_day(settings):  # noqa: ANN001
    settings.ROOT_URLCONF = "tests.urls"  # /test/fail: a view that raises
    a_before, b_before = today(TENANT_A), today(TENANT_B)
    client = TenantClient(TENANT_A)
    assert client.login().status_code == 200  # one request, one WeChat call (jscode2session)
    assert client.get("/api/v1/me").status_code == 200
    failing = Client(raise_request_exception=False)
    assert failing.get("/test/fail", headers={"X-AppID": TENANT_A}).status_code == 500
    job_taken(job_id="not-a-queued-job", app_id=TENANT_A, queue=settings.JOBS_QUEUE)
    assert grown(a_before, today(TENANT_A)) == {"requests": 3, "errors": 1, "jobs": 1, "wechat_calls": 1}
    assert grown(b_before, today(TENANT_B)) == {}


def test_usage_is_kept_in_one_hash_per_tenant_and_day_with_a_ttl(settings):  # noqa: ANN001
    from django.utils import timezone

    from core.redis import get_redis
    from core.usage import usage_key

    TenantClient(TENANT_A).get("/api/v1/ping")
    key = usage_key(app_id=TENANT_A, day=timezone.localdate())
    ttl = get_redis().ttl(key)
    assert settings.USAGE_KEEP_DAYS * 86400 - 60 < ttl <= settings.USAGE_KEEP_DAYS * 86400
    assert settings.USAGE_KEEP_DAYS >= 31


@pytest.fixture
def staff_token() -> Iterator[str]:
    user = User.objects.create_user("fair-staff", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tenants", codename="view_tenant"))
    yield AuthToken.objects.create(user=user)[1]
    user.delete()


def test_the_platform_api_shows_30_days_of_usage(staff_token):
    TenantClient(TENANT_A).get("/api/v1/ping")
    expected = today(TENANT_A)
    response = Client().get(f"/platform/v1/tenants/{TENANT_A}", headers={"Authorization": f"Token {staff_token}"})
    assert response.status_code == 200, response.content
    usage = response.json()["usage"]
    assert len(usage["days"]) == 30
    first = usage["days"][0]
    assert {kind: first[kind] for kind in KINDS} == expected
    assert usage["totals"]["requests"] >= expected["requests"] >= 1


def test_the_schema_documents_the_usage_field():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(public=True)
    components = schema["components"]["schemas"]
    assert set(components["UsageDay"]["properties"]) == {"day", *KINDS}
    answer = schema["paths"]["/platform/v1/tenants/{app_id}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TenantDetailOutput"}
    assert components["TenantDetailOutput"]["properties"]["usage"] == {"$ref": "#/components/schemas/Usage"}
    assert "usage" in components["TenantDetailOutput"]["required"]
    # Every tenant operation may answer tenant_busy (tenants.fair_requests), with Retry-After.
    me = schema["paths"]["/api/v1/me"]["get"]["responses"]["429"]
    assert "`tenant_busy`" in me["description"] and "Retry-After" in me["headers"]


def test_the_admin_shows_backlog_and_usage_and_sets_the_tenants_bound(admin_client, settings):  # noqa: ANN001
    tenant = Tenant.objects.get(app_id=TENANT_A)
    TenantClient(TENANT_A).get("/api/v1/ping")
    listing = admin_client.get("/admin/tenants/tenant/").content.decode()
    assert "Jobs queued" in listing
    assert f"0 / {settings.JOBS_TENANT_MAX_QUEUED}" in listing
    change = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    assert "Job backlog" in change and "in its outbox: " in change
    assert "Usage, last 30 days" in change and '<table class="usage">' in change
    response = admin_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/", {"name": tenant.name, "jobs_max_queued": "7"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant.refresh_from_db()
    assert tenant.jobs_max_queued == 7
    assert fairness.tenant_bound(app_id=TENANT_A) == 7  # read again at once in this process
    assert tenant.status == Tenant.Status.ACTIVE  # nothing else changed
