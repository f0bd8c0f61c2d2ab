"""tests.urls plus a view that enqueues its job inside a transaction on the tenant's database, as the services do
(accounts, payments, pushes): the job's outbox record then stays until the relay's sweep finds it on the queue."""

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path

from core.tenant_context import require_current_tenant
from tests.urls import handler400, handler403, handler404, handler500  # noqa: F401
from tests.urls import urlpatterns as test_urlpatterns
from tests.views import TEST_JOBS


def enqueue_in_transaction(request: HttpRequest) -> JsonResponse:
    from tenants.jobs import enqueue

    tenant = require_current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        job_id = enqueue(TEST_JOBS["record"], request.GET["marker"])
    return JsonResponse({"app_id": tenant.app_id, "job_id": job_id})


urlpatterns = [*test_urlpatterns, path("test/enqueue-in-transaction", enqueue_in_transaction)]
