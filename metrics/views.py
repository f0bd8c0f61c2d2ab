"""GET /metrics for Prometheus: answered only to METRICS_ALLOWED_NETWORKS, and never through the proxy.

nginx's public server answers /metrics itself (404, deploy/nginx/miniplex.conf); a request that came through
a proxy anyway (it carries X-Forwarded-For) or from another address gets the same 404 as any unknown path, so
the endpoint is not even seen to exist from outside. Prometheus scrapes gunicorn directly (127.0.0.1:8000).
"""

import glob
import ipaddress
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core import metrics
from core.responses import not_found_view
from metrics.outbox import OutboxCollector


def metrics_allowed(request: HttpRequest) -> bool:
    if request.META.get("HTTP_X_FORWARDED_FOR") or request.META.get("HTTP_X_REAL_IP"):
        return False  # came through nginx (or claims to): never for the internet
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_folders() -> list[str]:
    """Every program's folder: PROMETHEUS_MULTIPROC_DIR and its siblings (web, worker-00, relay ... under one root)."""
    if not metrics.MULTIPROC_DIR:
        return []
    root = settings.METRICS_ROOT or os.path.dirname(os.path.abspath(metrics.MULTIPROC_DIR))
    return sorted(path for path in glob.glob(os.path.join(root, "*")) if os.path.isdir(path))


class FleetCollector(Collector):
    """prometheus_client's multiprocess merge over the files of every program's folder at once."""

    def collect(self) -> Iterator[Metric]:
        files = [path for folder in metrics_folders() for path in glob.glob(os.path.join(folder, "*.db"))]
        yield from MultiProcessCollector.merge(files, accumulate=True)


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if metrics.MULTIPROC_DIR:
        registry.register(FleetCollector())
    else:
        registry.register(_Local())
    registry.register(OutboxCollector())
    return registry


class _Local(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from metrics.REGISTRY.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return not_found_view(request, None)
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
