"""The outbox backlog, read when Prometheus scrapes: which tenants have records the relay has not pushed yet.

Read from the control database's marks (tenants.outbox PendingOutbox, one query) and, for the marked tenants
only (at most OUTBOX_TENANTS_READ, oldest mark first), their outbox's count and oldest record: a scrape costs
a few queries however many tenants there are. Kept for CACHE_SECONDS per process, so several scrapers or a
fast scrape interval do not multiply them.
"""

import time
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.outbox.control.models import PendingOutbox
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for

OUTBOX_TENANTS_READ = 20
CACHE_SECONDS = 10.0

_cached: tuple[float, list[GaugeMetricFamily]] | None = None


def outbox_families() -> list[GaugeMetricFamily]:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] >= CACHE_SECONDS:
        _cached = (now, _read_families())
    return _cached[1]


def _read_families() -> list[GaugeMetricFamily]:
    marked = GaugeMetricFamily("miniplex_outbox_pending_tenants", "Tenants whose outbox has records to relay.")
    mark_age = GaugeMetricFamily(
        "miniplex_outbox_pending_mark_age_seconds", "Age of the oldest tenant mark (time since a relay pass left it)."
    )
    records = GaugeMetricFamily("miniplex_outbox_records", "Records waiting in a tenant's outbox.", labels=["tenant"])
    oldest = GaugeMetricFamily(
        "miniplex_outbox_oldest_record_age_seconds", "Age of the oldest record in a tenant's outbox.", labels=["tenant"]
    )
    try:
        marks = list(PendingOutbox.objects.order_by("since").values_list("app_id", "since"))
        now = timezone.now()
        marked.add_metric([], len(marks))
        mark_age.add_metric([], (now - marks[0][1]).total_seconds() if marks else 0.0)
        for app_id, count, created in _tenant_backlogs([app_id for app_id, _ in marks[:OUTBOX_TENANTS_READ]]):
            records.add_metric([app_id], count)
            oldest.add_metric([app_id], (now - created).total_seconds() if created else 0.0)
    except DatabaseError:
        return []  # the control database is down: the scrape goes on without these (the 5xx alert says it)
    return [marked, mark_age, records, oldest]


def _tenant_backlogs(app_ids: list[str]) -> Iterator[tuple[str, int, Any]]:
    for tenant in Tenant.objects.filter(app_id__in=app_ids):
        try:
            with activate_tenant(tenant_context_for(tenant)):
                rows = OutboxJob.objects.order_by("created_at")
                first = rows.values_list("created_at", flat=True).first()
                yield tenant.app_id, rows.count(), first
        except DatabaseError:
            continue  # that tenant's server is unreachable; the others are read


class OutboxCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from outbox_families()
