"""Django's own error answers are JSON in the one shape: a foreign Host, oversized data, PermissionDenied, a
refused CSRF check, an unknown path. Through the project's URLs plus this module's views (under /platform/,
a path that needs no tenant, so the tenant middleware lets them through to Django's handlers)."""

import pytest
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.test import Client, override_settings
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401 - the handlers under test
from config.urls import urlpatterns as project_urlpatterns


def _raises(exc: Exception):  # noqa: ANN202
    def view(request: HttpRequest) -> None:
        raise exc

    return view


def _not_allowed(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotAllowed(["GET"])


def _admin_html_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>Locked out</p>", status=429, content_type="text/html; charset=utf-8")


def _html_error(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("<p>Teapot</p>", status=418, content_type="text/html")
    response["Retry-After"] = "7"
    return response


urlpatterns = [
    path("platform/test/not-allowed", _not_allowed),
    path("platform/test/html-error", _html_error),
    path("admin/test/html-page", _admin_html_page),
    *project_urlpatterns,
    path("platform/test/forbidden", _raises(PermissionDenied("not for you"))),
    path("platform/test/suspicious", _raises(SuspiciousOperation("odd"))),
    path("platform/test/bad-request", _raises(BadRequest("bad"))),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def assert_error(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def test_a_host_not_in_allowed_hosts_gets_400_json_without_the_host_echoed(client):
    body = assert_error(client.get("/healthz", HTTP_HOST="evil.example"), 400, "host_not_allowed")
    assert "evil.example" not in str(body)


def test_a_host_not_allowed_on_the_admin_and_the_platform_api_is_json_too(client):
    assert_error(client.get("/admin/login/", HTTP_HOST="evil.example:8080"), 400, "host_not_allowed")
    assert_error(client.post("/platform/v1/tenants", HTTP_HOST="evil.example"), 400, "host_not_allowed")


def test_suspicious_operations_and_bad_requests_raised_by_views_are_400_json(client):
    assert_error(client.get("/platform/test/suspicious"), 400, "bad_request")
    assert_error(client.get("/platform/test/bad-request"), 400, "bad_request")


def test_permission_denied_outside_drf_is_403_json(client):
    assert_error(client.get("/platform/test/forbidden"), 403, "permission_denied")


def test_a_refused_csrf_check_on_the_admin_login_is_403_json_with_djangos_reason():
    client = Client(enforce_csrf_checks=True)
    body = assert_error(client.post("/admin/login/", {"username": "a", "password": "b"}), 403, "csrf_failed")
    assert "CSRF cookie not set" in body["error"]["message"]


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_too_many_form_fields_for_django_is_400_json(client):
    fields = {f"f{n}": "x" for n in range(10)}
    assert_error(client.post("/admin/login/", fields), 400, "bad_request")


def test_an_unknown_path_is_404_json(client):
    assert_error(client.get("/platform/no/such/page"), 404, "not_found")


def test_an_empty_405_from_a_plain_view_becomes_json_and_keeps_its_allow_header(client):
    response = client.post("/platform/test/not-allowed")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_an_html_error_outside_the_admin_becomes_json_with_its_status_and_headers(client):
    response = client.get("/platform/test/html-error")
    assert_error(response, 418, "client_error")
    assert response["Retry-After"] == "7"


def test_drf_errors_rendered_by_the_docs_and_schema_views_own_renderers_become_json(client):
    """The docs page renders HTML and the schema YAML, DRF's error answers included; their code is kept."""
    assert_error(client.post("/api/docs/"), 405, "method_not_allowed")
    assert_error(client.delete("/api/schema/"), 405, "method_not_allowed")


def test_the_admins_own_html_error_pages_are_left_to_the_browser(client):
    response = client.get("/admin/test/html-page")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
