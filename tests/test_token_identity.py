"""A token names one person of one tenant's database, whatever happens to that tenant's cache scope.

Each test first shows that the situation is real (the new user has the old user's id), then that the old
token is refused: a retired and onboarded-again AppID, a tenant database restored from a dump, an expired
token, a logout while Redis is down.
"""

import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from accounts.models import AuthToken
from api.tests.conftest import TenantClient
from core.cache import tenant_scope_delete
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tenants.services import tenant_provision, tenant_retire
from tests.helpers import TENANT_A, free_port, log_queries, mysql_rows, session_secret

pytestmark = pytest.mark.usefixtures("wechat")

NEW_APP_ID = "wx00000000000000e1"


def me(client: TenantClient) -> tuple[int, dict]:
    response = client.get("/api/v1/me")
    return response.status_code, response.json()


def logged_in(app_id: str, code: str) -> TenantClient:
    client = TenantClient(app_id)
    response = client.login(code)
    assert response.status_code == 200, response.content
    return client


@pytest.fixture
def new_tenant(wechat) -> str:
    """A tenant made by the test (dropped by the clean-up), known to the fake WeChat server."""
    wechat.control.register_app(NEW_APP_ID, session_secret(NEW_APP_ID))
    tenant_provision(app_id=NEW_APP_ID, name="Retired and back", app_secret=session_secret(NEW_APP_ID))
    return NEW_APP_ID


def test_an_old_token_is_refused_after_the_tenant_is_retired_and_onboarded_again(new_tenant):
    alice = logged_in(new_tenant, "code-alice")
    assert me(alice)[0] == 200  # used, so anything that caches a token has cached it
    alice_id = me(alice)[1]["id"]

    tenant_retire(app_id=new_tenant, confirm_app_id=new_tenant)
    tenant_provision(app_id=new_tenant, name="Retired and back", app_secret=session_secret(new_tenant))
    bob = logged_in(new_tenant, "code-bob")

    assert me(bob)[1]["id"] == alice_id  # ids start again at 1: the same id is another person now
    status, body = me(alice)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    assert "openid-bob" not in str(body)


def test_retire_deletes_every_key_of_the_tenants_cache_scope(new_tenant):
    alice = logged_in(new_tenant, "code-alice")
    assert me(alice)[0] == 200  # throttle counters of the tenant now exist
    scope = f"{settings.CACHE_KEY_PREFIX}:*:{new_tenant}:*"
    client = get_redis_connection("default")
    assert list(client.scan_iter(match=scope))
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        cache.set("kept", "tenant A's own")

    tenant_retire(app_id=new_tenant, confirm_app_id=new_tenant)

    assert list(client.scan_iter(match=scope)) == []
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        assert cache.get("kept") == "tenant A's own"  # another tenant's scope is left alone


def test_scope_delete_counts_what_it_deleted(new_tenant):
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=new_tenant))):
        for index in range(3):
            cache.set(f"k{index}", index)
    assert tenant_scope_delete(app_id=new_tenant) == 3
    assert tenant_scope_delete(app_id=new_tenant) == 0


def dump(database: str) -> bytes:
    return subprocess.run(
        ["mariadb-dump", "-h127.0.0.1", "-uroot", "--single-transaction", database],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def restore(database: str, sql: bytes) -> None:
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", database], input=sql, check=True, timeout=60)


def test_an_old_token_is_refused_after_the_tenant_database_is_restored_from_a_dump(new_tenant):
    database = Tenant.objects.get(app_id=new_tenant).db_name
    backup = dump(database)  # taken before Alice ever logged in
    alice = logged_in(new_tenant, "code-alice")
    assert me(alice)[0] == 200
    alice_id = me(alice)[1]["id"]

    restore(database, backup)
    assert mysql_rows(f"SELECT COUNT(*) FROM `{database}`.accounts_miniprogramuser") == [(0,)]
    bob = logged_in(new_tenant, "code-bob")

    assert me(bob)[1]["id"] == alice_id
    status, body = me(alice)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    assert me(bob)[1]["openid"].startswith("openid-bob-")


def test_an_expired_token_is_refused_at_once():
    alice = logged_in(TENANT_A, "code-alice")
    assert me(alice)[0] == 200
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        AuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    status, body = me(alice)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")


def dead_redis() -> override_settings:
    """Every cache pointed at a port where nothing listens: Redis is down for this process."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    return override_settings(
        CACHES={name: {**config, "LOCATION": url} for name, config in settings.CACHES.items()},
    )


def test_a_logout_while_redis_is_down_revokes_the_token_for_good():
    alice = logged_in(TENANT_A, "code-alice")
    assert me(alice)[0] == 200
    with dead_redis():
        assert me(alice)[0] == 200  # Redis is not needed to authenticate
        response = alice.post("/api/v1/auth/logout")
        assert response.status_code == 204
        assert me(alice)[0] == 401
    # Redis is back, with whatever it held before the outage: the token stays revoked.
    status, body = me(alice)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        assert AuthToken.objects.count() == 0


def test_a_token_is_checked_with_one_query_and_nothing_in_redis():
    alice = logged_in(TENANT_A, "code-alice")
    alias = tenant_context_for(Tenant.objects.get(app_id=TENANT_A)).db_alias
    with log_queries([alias]) as log:
        assert me(alice)[0] == 200
    # The token row joined to its user: the tenant's own database is the only authority. (The other query of
    # /me reads the user's newest avatar upload, for avatar_state.)
    [query] = [sql for sql in log.for_alias(alias) if "accounts_authtoken" in sql]
    assert "accounts_miniprogramuser" in query
    assert list(get_redis_connection("default").scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*auth-token*")) == []


def test_a_job_queued_before_a_restore_never_reaches_the_user_who_now_has_its_users_id(wechat, queue_name):
    """A job names its user by id and openid: after a restore the id may be another person's."""
    from accounts.models import MiniProgramUser
    from tests.workers import fetch

    tenant = Tenant.objects.get(app_id=TENANT_A)
    backup = dump(tenant.db_name)
    alice = logged_in(TENANT_A, "code-alice")
    message = {"template_id": "tmpl-identity", "data": {"thing1": {"value": "for Alice"}}}
    job = fetch(alice.post("/api/v1/messages/subscribe", message).json()["job_id"])
    restore(tenant.db_name, backup)
    bob = logged_in(TENANT_A, "code-bob")
    assert me(bob)[1]["id"] == job.kwargs["user_id"]
    wechat.control.add_template(TENANT_A, "tmpl-identity")
    bob_openid = me(bob)[1]["openid"]
    wechat.control.grant_subscription(TENANT_A, openid=bob_openid, template_id="tmpl-identity")

    with activate_tenant(tenant_context_for(tenant)), pytest.raises(MiniProgramUser.DoesNotExist):
        job.func(*job.args, **job.kwargs)  # what the worker would run
    assert [sent for sent in wechat.state.messages if sent["touser"] == bob_openid] == []


@pytest.mark.slow
def test_the_same_with_the_commands_an_operator_runs(new_tenant):
    """drop_tenant and create_tenant as real processes, while this process keeps serving the AppID."""
    from tests.helpers import run_manage, subprocess_env

    alice = logged_in(new_tenant, "code-alice")
    assert me(alice)[0] == 200
    dropped = run_manage("drop_tenant", new_tenant, "--yes")
    assert dropped.returncode == 0, dropped.stderr
    env = subprocess_env(APP_SECRET=session_secret(new_tenant))
    created = run_manage("create_tenant", new_tenant, "--name", "Back again", "--secret-env", "APP_SECRET", env=env)
    assert created.returncode == 0, created.stderr
    bob = logged_in(new_tenant, "code-bob")
    assert me(bob)[1]["id"] == 1
    status, body = me(alice)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")


def test_a_logout_the_database_cannot_record_answers_503_and_changes_nothing():
    from unittest import mock

    from django.db import OperationalError

    alice = logged_in(TENANT_A, "code-alice")
    with mock.patch.object(AuthToken.objects, "filter", side_effect=OperationalError(2013, "Lost connection")):
        response = alice.post("/api/v1/auth/logout")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "service_unavailable")
    assert response["Retry-After"]
    assert me(alice)[0] == 200  # not revoked: the client may log out again
    assert alice.post("/api/v1/auth/logout").status_code == 204
    assert me(alice)[0] == 401


def test_me_costs_one_query_and_one_redis_round_trip_the_throttles():
    from unittest import mock

    import redis
    from redis.client import Pipeline

    alice = logged_in(TENANT_A, "code-alice")
    assert me(alice)[0] == 200  # the registry's entry and generation are read now, not on the next request
    alias = tenant_context_for(Tenant.objects.get(app_id=TENANT_A)).db_alias
    plain_command, pipeline_execute = redis.Redis.execute_command, Pipeline.execute
    with (
        log_queries([alias]) as log,
        mock.patch.object(redis.Redis, "execute_command", autospec=True, side_effect=plain_command) as plain,
        mock.patch.object(Pipeline, "execute", autospec=True, side_effect=pipeline_execute) as pipelined,
    ):
        assert me(alice)[0] == 200
    # The token joined to its user, with the user's newest avatar upload (avatar_state) as a subquery: one read.
    queries = log.for_alias(alias)
    assert len(queries) == 1 and "accounts_authtoken" in queries[0] and "avatars_avatar" in queries[0]
    assert (plain.call_count, pipelined.call_count) == (0, 1)
