"""The admin login's rate limit (django-axes): failures count per username and client address together."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

PASSWORD = "the-right-password-1"


@pytest.fixture
def users(tenant_db):
    from axes.utils import reset

    reset()
    made = [User.objects.create_user(name, password=PASSWORD, is_staff=True) for name in ("ops-ann", "ops-bob")]
    yield made
    reset()
    for user in made:
        user.delete()


def login(username, password, address="192.0.2.10", **headers):
    client = Client(REMOTE_ADDR=address)
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}, headers=headers
    )


def fail_until_locked(username, address="192.0.2.10", **headers):
    answers = [login(username, "wrong", address, **headers).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    # Django's login page answers a wrong password with 200 and the form again; the limit's failure with 429.
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_after_the_limit_of_failures_the_right_password_is_refused_too(users):
    fail_until_locked("ops-ann")
    locked = login("ops-ann", PASSWORD)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert "Too many failed logins" in locked.content.decode()


def test_other_users_and_other_addresses_are_unaffected(users):
    fail_until_locked("ops-ann")
    assert login("ops-bob", PASSWORD).status_code == 302  # another user from the same address
    assert login("ops-ann", PASSWORD, address="198.51.100.20").status_code == 302  # the same user from elsewhere


def test_a_lockout_asked_for_in_json_is_the_apis_error_shape(users):
    fail_until_locked("ops-ann")
    response = login("ops-ann", PASSWORD, Accept="application/json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_locked"


def test_behind_nginx_a_forged_forwarded_header_does_not_escape_the_count(users, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        # The client forges a first hop each time; nginx appends the address it saw, which is what counts.
        assert login("ops-ann", "wrong", **{"X-Forwarded-For": f"10.0.0.{attempt}, 203.0.113.5"}).status_code == 200
    assert login("ops-ann", "wrong", **{"X-Forwarded-For": "10.1.1.1, 203.0.113.5"}).status_code == 429
    # Another client behind the same nginx (another appended hop) logs in.
    assert login("ops-ann", PASSWORD, **{"X-Forwarded-For": "203.0.113.6"}).status_code == 302


def test_a_platform_admin_unlocks_a_user_with_the_reset_command(users):
    fail_until_locked("ops-ann")
    call_command("axes_reset_username", "ops-ann")
    assert login("ops-ann", PASSWORD).status_code == 302


def test_one_address_trying_many_usernames_is_locked_at_the_address_limit(users, settings):
    settings.ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    answers = [login(f"someone-{n}", "wrong").status_code for n in range(8)]  # 1 guess each: no pair near its limit
    assert answers == [200] * 7 + [429]
    assert login("ops-bob", PASSWORD).status_code == 429  # the address is locked, whoever logs in from it
    assert login("ops-bob", PASSWORD, address="198.51.100.20").status_code == 302  # elsewhere: unaffected
    call_command("axes_reset_ip", "192.0.2.10")
    assert login("ops-bob", PASSWORD).status_code == 302
