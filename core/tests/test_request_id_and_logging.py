"""Request ids, and log lines that carry their tenant and request once each, as text or JSON."""

import json
import logging
import subprocess

import pytest
from django.test import Client

from core.logging import JsonFormatter, TenantContextFilter
from core.request_id import bind_request_id
from core.sentry import add_context_tags
from core.tenant_context import TenantContext, activate_tenant
from tests.helpers import BASE_DIR, PYTHON, subprocess_env

TENANT = TenantContext(app_id="wx00000000000000a1", db_name="mp_wx00000000000000a1", server="main")


def test_a_request_id_is_made_when_none_is_sent_and_echoed_when_one_is():
    client = Client()
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("sent", ["has space", "x" * 129, 'quote"d', "new\nline"])
def test_a_request_id_that_is_not_plain_is_replaced(sent):
    assert Client().get("/healthz", headers={"X-Request-ID": sent})["X-Request-ID"] != sent


def test_an_error_response_before_any_tenant_carries_the_request_id_too():
    response = Client().get("/api/v1/ping", headers={"X-Request-ID": "no-app-id-1"})
    assert response.status_code == 400
    assert response["X-Request-ID"] == "no-app-id-1"


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("miniplex.test", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    TenantContextFilter().filter(made)
    return made


def tags(made: logging.LogRecord) -> tuple[str, str]:
    """The two fields TenantContextFilter adds (set at run time: LogRecord declares neither)."""
    return made.__dict__["app_id"], made.__dict__["request_id"]


def test_the_filter_names_the_tenant_and_request_or_a_dash_outside_them():
    outside = record("outside")
    assert tags(outside) == ("-", "-")
    with activate_tenant(TENANT), bind_request_id("req-1"):
        inside = record("inside")
    assert tags(inside) == (TENANT.app_id, "req-1")


def test_json_lines_carry_the_context_and_the_extras():
    with activate_tenant(TENANT), bind_request_id("req-2"):
        line = json.loads(JsonFormatter().format(record("hello %s", job_id="j1")))
    assert line["app_id"] == TENANT.app_id
    assert line["request_id"] == "req-2"
    assert line["message"] == "hello %s"
    assert line["job_id"] == "j1"
    assert line["level"] == "INFO"


def test_sentry_events_are_tagged_with_the_tenant_and_request_unless_the_scope_named_them():
    with activate_tenant(TENANT), bind_request_id("req-3"):
        event = add_context_tags({}, {})
        tagged_by_job = add_context_tags({"tags": {"app_id": "wx00000000000000b2"}}, {})
    assert event["tags"] == {"app_id": TENANT.app_id, "request_id": "req-3"}
    assert tagged_by_job["tags"]["app_id"] == "wx00000000000000b2"
    assert add_context_tags({}, {})["tags"] == {}


LOG_SCRIPT = """
import logging, django
django.setup()
logging.getLogger("django.request").error("from-django")
logging.getLogger("django.server").info("from-server")
logging.getLogger("miniplex.anything").info("from-app")
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.slow
def test_every_line_is_written_exactly_once_by_the_root_handler(log_format):
    result = subprocess.run(
        [PYTHON, "-c", LOG_SCRIPT],
        env=subprocess_env(DJANGO_DEBUG="true", LOG_FORMAT=log_format),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "from-" in line]
    assert len(lines) == 3, result.stderr
    for message in ("from-django", "from-server", "from-app"):
        assert sum(message in line for line in lines) == 1
    if log_format == "json":
        assert [json.loads(line)["app_id"] for line in lines] == ["-", "-", "-"]
    else:
        assert all("app_id=- request_id=-" in line for line in lines)
