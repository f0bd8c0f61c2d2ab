"""Static files come from WhiteNoise in the app itself, ahead of the tenant middleware (no X-AppID needed)."""

from django.conf import settings
from django.test import Client


def test_whitenoise_answers_right_after_the_security_middleware_before_any_tenant_lookup():
    middleware = settings.MIDDLEWARE
    whitenoise = middleware.index("whitenoise.middleware.WhiteNoiseMiddleware")
    assert middleware[whitenoise - 1] == "django.middleware.security.SecurityMiddleware"
    assert whitenoise < middleware.index("tenants.middleware.TenantMiddleware")


def test_the_admins_stylesheet_is_served_without_a_tenant():
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"--header-bg" in response.getvalue()
