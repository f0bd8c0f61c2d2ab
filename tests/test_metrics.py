"""Metrics: who may read /metrics, what it says, the series bound at 1,000 tenants, and that the shipped alert
rules and dashboard ask only for what it exposes (docs/metrics.md)."""

import json
import re

import pytest
import yaml
from django.test import Client
from django.urls import get_resolver
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from metrics.views import scrape_registry
from tests.helpers import BASE_DIR

METRIC_NAME = re.compile(r"\bminiplex_[a-z0-9_]+")
TENANTS = 1000


def scrape_text() -> str:
    return generate_latest(scrape_registry()).decode()


def exposed_sample_names() -> set[str]:
    """Every sample name /metrics can show, each family touched once (labelled families show none before)."""
    metrics.http_request_observed(tenant="wxtouch", route="healthz", status=200, seconds=0.01)
    metrics.registry_lookup("local")
    metrics.tenant_refused("tenant_not_found")
    with metrics.db_pool_checkout("default"):
        pass
    metrics.db_pool_returned("default")
    metrics.DB_POOL_TIMEOUTS.labels("default").inc(0)
    metrics.db_connection_opened("default")
    metrics.redis_error("pool")
    metrics.redis_fallback("throttle")
    metrics.WECHAT_CALLS.labels("wxtouch", "/wxa/msg_sec_check", "0").inc(0)
    metrics.WECHAT_DURATION.labels("/wxa/msg_sec_check").observe(0.01)
    metrics.TOKEN_REFRESHES.labels("wxtouch", "failed").inc(0)
    metrics.token_lock_waited(0)
    for counter in (metrics.JOBS_QUEUED, metrics.JOBS_STARTED, metrics.JOBS_FINISHED, metrics.JOBS_FAILED):
        counter.labels("wxtouch", "f").inc(0)
    metrics.JOBS_RETRIED.labels("wxtouch", "f").inc(0)
    metrics.JOBS_QUEUE_WAIT.labels("default").observe(0.1)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {family.name + suffix for family in scrape_registry().collect() for suffix in suffixes[family.type]}


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_only_and_never_through_a_proxy() -> None:
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404


@pytest.mark.django_db
def test_a_request_is_counted_by_route_name_and_status_class_not_by_path() -> None:
    before = metrics.HTTP_REQUESTS.labels("healthz", "2xx")._value.get()
    assert Client().get("/healthz").status_code == 200
    assert metrics.HTTP_REQUESTS.labels("healthz", "2xx")._value.get() == before + 1
    Client().get("/no/such/path/12345")
    text = scrape_text()
    assert "/no/such/path" not in text
    assert 'route="unmatched"' in text


@pytest.mark.django_db
def test_series_stay_bounded_at_1000_tenants() -> None:
    """Every tenant on every route with every status class: the tenant label multiplies only one counter."""
    routes = sorted({name for name in get_resolver().reverse_dict if isinstance(name, str)})
    statuses = (200, 302, 404, 503, 99)
    for number in range(TENANTS):
        for route in routes:
            for status in statuses:
                metrics.http_request_observed(tenant=f"wxbound{number:04d}", route=route, status=status, seconds=0.02)
    families = {family.name: family for family in text_string_to_metric_families(scrape_text())}
    tenant_series = [
        s for s in families["miniplex_http_tenant_requests"].samples if s.labels["tenant"].startswith("wxbound")
    ]
    route_series = families["miniplex_http_requests"].samples
    histogram = families["miniplex_http_request_duration_seconds"].samples
    assert len(tenant_series) == TENANTS * len(statuses)
    assert all("tenant" not in sample.labels for sample in histogram + route_series)
    # The bound of docs/metrics.md: tenants x 5 classes + routes x 5 classes + routes x (11 buckets + inf, sum, count).
    bound = TENANTS * 5 + len(routes) * 5 + len(routes) * (len(metrics.LATENCY_BUCKETS) + 3)
    http_series = (
        len(tenant_series) // 2
        + len(route_series) // 2
        + len([s for s in histogram if not s.name.endswith("_created")])
    )
    assert http_series <= bound + 5 * 10  # plus the few series other tests of this process recorded


def _expressions_of_rules() -> list[str]:
    rules = yaml.safe_load((BASE_DIR / "deploy" / "prometheus" / "miniplex-rules.yml").read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert {rule["alert"] for group in rules["groups"] for rule in group["rules"]} >= {
        "MiniplexHigh5xxRate",
        "MiniplexDatabasePoolWaits",
        "MiniplexTokenRefreshFailures",
        "MiniplexTenantQueueBacklog",
        "MiniplexOutboxAge",
    }
    return found


@pytest.mark.django_db
def test_alert_rules_and_dashboard_ask_only_for_exposed_metrics() -> None:
    exposed = exposed_sample_names()
    dashboard = json.loads((BASE_DIR / "deploy" / "grafana" / "miniplex.json").read_text())
    panel_exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for expr in _expressions_of_rules() + panel_exprs:
        names = set(METRIC_NAME.findall(expr))
        assert names, expr
        assert names <= exposed, (expr, names - exposed)


def test_a_wechat_call_is_counted_with_its_errcode() -> None:
    class Failing(Exception):
        errcode = 40001

    class Client_:
        app_id = "wxerrcode"

        @metrics.observe_wechat_call
        def call(self, method: str, path: str) -> None:
            raise Failing()

    with pytest.raises(Failing):
        Client_().call("GET", "/cgi-bin/x")
    assert metrics.WECHAT_CALLS.labels("wxerrcode", "/cgi-bin/x", "40001")._value.get() == 1
