"""The staff-only platform API: /platform/v1/tenants, with the fake WeChat server and a real worker."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken

from accounts.models import MiniProgramUser
from console.tests.audit import AuditSince
from core.tenant_context import activate_tenant
from tenants.app_ids import tenant_db_name
from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B, TENANT_C, session_secret, tenant_databases_on_server
from tests.workers import jobs_queue, running_workers, wait_for

pytestmark = pytest.mark.usefixtures("wechat")
NEW_APP_ID = "wx00000000000000f7"
NEW_SECRET = "platform-new-secret-0123"


class PlatformClient:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Token {token}"} if token else {}

    def get(self, path):
        return self.client.get(f"/platform/v1/{path}", headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(
            f"/platform/v1/{path}", body or {}, content_type="application/json", headers=self.headers
        )


TENANT_PERMISSIONS = ["view_tenant", "add_tenant", "change_tenant", "suspend_tenant", "rotate_secret", "retire_tenant"]


def make_user(name, *, staff, permissions=()):
    user = User.objects.create_user(name, password="pw-for-tests", is_staff=staff)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tenants", codename__in=permissions))
    return user, AuthToken.objects.create(user=user)[1]


@pytest.fixture
def staff():
    """A staff user holding every permission of platform actions (not a superuser)."""
    user, key = make_user("platform-staff", staff=True, permissions=TENANT_PERMISSIONS)
    yield PlatformClient(key)
    user.delete()


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_anonymous_callers_get_401_and_non_staff_users_403():
    assert_error(PlatformClient(None).get("tenants"), 401, "not_authenticated")
    assert_error(PlatformClient("not-a-token").get("tenants"), 401, "not_authenticated")
    user, key = make_user("mini-program-dev", staff=False)
    try:
        assert_error(PlatformClient(key).get("tenants"), 403, "permission_denied")
        assert_error(PlatformClient(key).post(f"tenants/{TENANT_A}/suspend"), 403, "permission_denied")
        assert Tenant.objects.get(app_id=TENANT_A).status == "active"
    finally:
        user.delete()


def test_staff_can_log_in_with_a_session_too():
    user, _key = make_user("session-staff", staff=True, permissions=["view_tenant"])
    client = Client()
    client.force_login(user)
    try:
        assert client.get("/platform/v1/tenants").status_code == 200
    finally:
        user.delete()


def test_the_list_shows_every_tenant_and_no_secret(staff):
    response = staff.get("tenants")
    assert response.status_code == 200
    rows = response.json()
    assert [row["app_id"] for row in rows] == sorted(row["app_id"] for row in rows)
    assert {TENANT_A, TENANT_B} <= {row["app_id"] for row in rows}
    assert all(row["has_secret"] for row in rows)
    assert session_secret(TENANT_A) not in response.content.decode()
    assert "app_secret" not in json.dumps(rows)


@pytest.mark.slow
def test_create_answers_202_with_a_job_that_a_worker_runs_to_a_ready_tenant(staff, wechat, queue_name, tmp_path):
    wechat.control.register_app(NEW_APP_ID, NEW_SECRET)
    response = staff.post("tenants", {"app_id": NEW_APP_ID, "name": "平台 🏗️", "app_secret": NEW_SECRET})
    assert response.status_code == 202
    body = response.json()
    assert body["tenant"]["status"] == "provisioning"
    assert body["job_url"] == f"/platform/v1/jobs/{body['job_id']}"
    assert staff.get(f"jobs/{body['job_id']}").json()["status"] == "queued"
    assert NEW_SECRET not in response.content.decode()

    with running_workers(1, tmp_path):
        wait_for(lambda: staff.get(f"jobs/{body['job_id']}").json()["status"] == "finished", 60, "job did not finish")
    job = staff.get(f"jobs/{body['job_id']}").json()
    assert job["result"] == {"app_id": NEW_APP_ID, "status": "active"}
    assert staff.get(f"tenants/{NEW_APP_ID}").json()["status"] == "active"
    assert tenant_db_name(NEW_APP_ID) in tenant_databases_on_server()
    assert Client().get("/api/v1/ping", headers={"X-AppID": NEW_APP_ID}).json() == {"app_id": NEW_APP_ID}


def test_create_refuses_a_duplicate_a_malformed_app_id_and_a_bad_secret(staff, wechat, queue_name):
    assert_error(staff.post("tenants", {"app_id": TENANT_A, "name": "again"}), 409, "tenant_exists")
    assert_error(staff.post("tenants", {"app_id": "../x", "name": "x"}), 400, "app_id_invalid")
    assert_error(
        staff.post("tenants", {"app_id": NEW_APP_ID, "name": "x", "db_server": "nowhere"}),
        400,
        "unknown_database_server",
    )
    wechat.control.register_app(NEW_APP_ID, NEW_SECRET)
    response = staff.post("tenants", {"app_id": NEW_APP_ID, "name": "x", "app_secret": "wrong-secret"})
    assert_error(response, 400, "wechat_secret_rejected")
    assert "(40125)" in response.json()["error"]["message"]
    assert_error(staff.post("tenants", {"name": "no app id"}), 400, "invalid")
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert len(jobs_queue()) == 0


def test_show_gives_the_tenants_facts(staff, queue_name):
    from tenants.jobs import enqueue
    from tests.job_functions import record_database

    context = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(context):
        MiniProgramUser.objects.create(openid="u1")
        MiniProgramUser.objects.create(openid="u2")
        enqueue(record_database, "waiting")
    Client().get("/api/v1/ping", headers={"X-AppID": TENANT_A})
    facts = staff.get(f"tenants/{TENANT_A}").json()["facts"]
    assert facts["users"] == 2
    assert facts["database_bytes"] > 0
    assert (facts["jobs_queued"], facts["jobs_failed"]) == (1, 0)
    assert facts["last_request_at"] is not None
    assert staff.get(f"tenants/{TENANT_B}").json()["facts"]["jobs_queued"] == 0
    assert_error(staff.get("tenants/wx0000000000000000"), 404, "tenant_not_found")


def test_suspend_and_resume(staff):
    assert staff.post(f"tenants/{TENANT_B}/suspend").json()["status"] == "suspended"
    assert Client().get("/api/v1/ping", headers={"X-AppID": TENANT_B}).status_code == 403
    assert staff.post(f"tenants/{TENANT_B}/resume").json()["status"] == "active"
    assert Client().get("/api/v1/ping", headers={"X-AppID": TENANT_B}).status_code == 200


def test_a_tenant_still_provisioning_cannot_be_resumed_into_service(staff, queue_name):
    staff.post("tenants", {"app_id": NEW_APP_ID, "name": "not ready"})
    assert_error(staff.post(f"tenants/{NEW_APP_ID}/resume"), 409, "tenant_not_ready")
    assert Tenant.objects.get(app_id=NEW_APP_ID).status == "provisioning"


def test_rotate_secret_checks_with_wechat_first(staff, wechat):
    wechat.control.fail_next("/cgi-bin/stable_token", errcode=40164, app_id=TENANT_A)
    response = staff.post(f"tenants/{TENANT_A}/secret", {"app_secret": "candidate"})
    assert_error(response, 400, "wechat_secret_rejected")
    assert "IP whitelist" in response.json()["error"]["message"]
    assert secret_decrypt(Tenant.objects.get(app_id=TENANT_A).app_secret_encrypted) == session_secret(TENANT_A)

    wechat.control.register_app(TENANT_A, "rotated-by-api", unionid=True)
    assert staff.post(f"tenants/{TENANT_A}/secret", {"app_secret": "rotated-by-api"}).status_code == 200
    assert secret_decrypt(Tenant.objects.get(app_id=TENANT_A).app_secret_encrypted) == "rotated-by-api"


def test_retire_needs_the_app_id_again_and_leaves_nothing_behind(staff, queue_name):
    from tenants.jobs import enqueue
    from tenants.services import tenant_provision
    from tests.job_functions import record_database

    tenant_provision(app_id=NEW_APP_ID, name="Doomed")
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=NEW_APP_ID))):
        enqueue(record_database, "never-runs")
    assert_error(staff.post(f"tenants/{NEW_APP_ID}/retire", {"confirm_app_id": TENANT_A}), 400, "confirmation_mismatch")
    assert Tenant.objects.filter(app_id=NEW_APP_ID).exists()

    assert staff.post(f"tenants/{NEW_APP_ID}/retire", {"confirm_app_id": NEW_APP_ID}).status_code == 204
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert tenant_db_name(NEW_APP_ID) not in tenant_databases_on_server()
    assert len(jobs_queue()) == 0
    assert_error(staff.post(f"tenants/{NEW_APP_ID}/retire", {"confirm_app_id": NEW_APP_ID}), 404, "tenant_not_found")


def test_a_tenants_job_is_not_a_platform_job(staff, queue_name):
    from tenants.jobs import enqueue
    from tests.job_functions import record_database

    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        job_id = enqueue(record_database, "tenant-job")
    assert_error(staff.get(f"jobs/{job_id}"), 404, "job_not_found")


def test_the_platform_api_is_in_the_openapi_schema_without_the_tenant_header():
    schema = json.loads(Client().get("/api/schema/", headers={"Accept": "application/json"}).content)
    platform_paths = [path for path in schema["paths"] if path.startswith("/platform/v1/")]
    assert "/platform/v1/tenants" in platform_paths
    assert "/platform/v1/tenants/{app_id}/retire" in platform_paths
    create = schema["paths"]["/platform/v1/tenants"]["post"]
    assert "202" in create["responses"]
    assert not [p for p in create.get("parameters", []) if p["name"] == "X-AppID"]
    # Each operation names the permission it needs, as the admin and the commands' help do.
    paths = schema["paths"]
    assert "`tenants.add_tenant`" in create["description"]
    assert "`tenants.suspend_tenant`" in paths["/platform/v1/tenants/{app_id}/resume"]["post"]["description"]
    assert "`tenants.view_tenant` or `tenants.change_tenant`" in paths["/platform/v1/tenants"]["get"]["description"]


# --- Django permissions govern every call; every lifecycle action is in the audit trail ----------------------

JOB_ID = "0123456789abcdef0123456789abcdef"
CALLS = {
    # name: (the permission it needs, the call)
    "list": ("view_tenant", lambda c: c.get("tenants")),
    "show": ("view_tenant", lambda c: c.get(f"tenants/{TENANT_A}")),
    "job": ("view_tenant", lambda c: c.get(f"jobs/{JOB_ID}")),
    "onboard": ("add_tenant", lambda c: c.post("tenants", {"app_id": NEW_APP_ID, "name": "x"})),
    "suspend": ("suspend_tenant", lambda c: c.post(f"tenants/{TENANT_B}/suspend")),
    "resume": ("suspend_tenant", lambda c: c.post(f"tenants/{TENANT_B}/resume")),
    "rotate": ("rotate_secret", lambda c: c.post(f"tenants/{TENANT_A}/secret", {"app_secret": "wrong-secret"})),
    # A wrong confirmation: allowed means 400 confirmation_mismatch, and the session tenant stays.
    "retire": ("retire_tenant", lambda c: c.post(f"tenants/{TENANT_C}/retire", {"confirm_app_id": TENANT_A})),
}


def calls_refused_and_allowed(client):
    refused, allowed = set(), set()
    for name, (_permission, call) in CALLS.items():
        response = call(client)
        if response.status_code == 403:
            assert response.json()["error"]["code"] == "permission_denied", name
            refused.add(name)
        else:
            allowed.add(name)
    return refused, allowed


@pytest.fixture
def user_with(queue_name):
    made: list[User] = []

    def make(*permissions):
        user, key = make_user(f"staff-{len(made)}", staff=True, permissions=permissions)
        made.append(user)
        return PlatformClient(key)

    yield make
    for user in made:
        user.delete()


def test_staff_without_permissions_is_refused_every_call_and_nothing_changes(user_with):
    audit = AuditSince()
    refused, allowed = calls_refused_and_allowed(user_with())
    assert allowed == set()
    assert refused == set(CALLS)
    assert Tenant.objects.get(app_id=TENANT_B).status == "active"
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert len(jobs_queue()) == 0
    audit.none()


def test_view_permission_lists_and_shows_but_changes_nothing(user_with):
    refused, allowed = calls_refused_and_allowed(user_with("view_tenant"))
    assert allowed == {"list", "show", "job"}
    assert Tenant.objects.get(app_id=TENANT_B).status == "active"


def test_change_permission_reads_too_as_in_the_admin(user_with):
    refused, allowed = calls_refused_and_allowed(user_with("change_tenant"))
    assert allowed == {"list", "show", "job"}


@pytest.mark.parametrize("permission", ["add_tenant", "suspend_tenant", "rotate_secret", "retire_tenant"])
def test_each_permission_allows_exactly_its_own_calls(user_with, permission):
    refused, allowed = calls_refused_and_allowed(user_with(permission))
    assert allowed == {name for name, (needs, _call) in CALLS.items() if needs == permission}
    assert Tenant.objects.filter(app_id=TENANT_C).exists()


def test_a_superuser_needs_no_explicit_permission(user_with):
    user = User.objects.create_superuser("platform-root", "root@example.com", "pw-for-tests")
    try:
        assert PlatformClient(AuthToken.objects.create(user=user)[1]).get("tenants").status_code == 200
    finally:
        user.delete()


def test_each_lifecycle_action_writes_one_audit_entry_with_actor_address_and_door(staff, wechat, queue_name, settings):
    user = User.objects.get(username="platform-staff")
    settings.TRUSTED_PROXY_COUNT = 1  # as behind nginx: the hop nginx appended is the client
    staff.headers["X-Forwarded-For"] = "10.6.6.6, 203.0.113.9"
    audit = AuditSince()

    def entry(action, app_id):
        found = audit.one()
        assert (found.action, found.app_id, found.door) == (action, app_id, "api")
        assert (found.actor, found.actor_id, found.address) == ("platform-staff", user.pk, "203.0.113.9")
        return found

    assert staff.post("tenants", {"app_id": NEW_APP_ID, "name": "审计"}).status_code == 202
    assert entry("onboard", NEW_APP_ID).details == {"db_server": "main", "name": "审计"}
    staff.post(f"tenants/{TENANT_B}/suspend")
    entry("suspend", TENANT_B)
    staff.post(f"tenants/{TENANT_B}/resume")
    entry("resume", TENANT_B)
    wechat.control.register_app(TENANT_A, "rotated-for-audit", unionid=True)
    assert staff.post(f"tenants/{TENANT_A}/secret", {"app_secret": "rotated-for-audit"}).status_code == 200
    rotated = entry("rotate_secret", TENANT_A)
    assert "rotated-for-audit" not in json.dumps(rotated.details)

    from tenants.services import tenant_provision

    tenant_provision(app_id="wx00000000000000f8", name="Doomed")
    assert staff.post("tenants/wx00000000000000f8/retire", {"confirm_app_id": "wx00000000000000f8"}).status_code == 204
    entry("retire", "wx00000000000000f8")


def test_refused_and_failed_actions_write_no_audit_entry(staff, wechat):
    audit = AuditSince()
    assert staff.post(f"tenants/{TENANT_A}/secret", {"app_secret": "wrong-secret"}).status_code == 400
    assert staff.post(f"tenants/{TENANT_A}/retire", {"confirm_app_id": TENANT_B}).status_code == 400
    assert staff.post("tenants/wx0000000000000000/suspend").status_code == 404
    audit.none()


def test_platform_tokens_are_stored_only_as_a_digest():
    from django.db import connection

    user = User.objects.create_user("token-owner", password="pw-for-tests", is_staff=True)
    try:
        out = StringIO()
        call_command("drf_create_token", "token-owner", stdout=out)
        key = out.getvalue().split()[2]  # "Generated token <key> for user <name>", as DRF's command printed
        assert len(key) == 64
        token = AuthToken.objects.get(user=user)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM knox_authtoken")
            stored = json.dumps([[str(value) for value in row] for row in cursor.fetchall()])
        assert key not in stored
        # The key is a credential (view permission missing: 403, not 401); what the table holds is none.
        assert_error(PlatformClient(key).get("tenants"), 403, "permission_denied")
        assert_error(PlatformClient(token.digest).get("tenants"), 401, "not_authenticated")
        assert_error(PlatformClient(token.token_key).get("tenants"), 401, "not_authenticated")
        # --reset revokes the earlier tokens.
        call_command("drf_create_token", "--reset", "token-owner", stdout=StringIO())
        assert_error(PlatformClient(key).get("tenants"), 401, "not_authenticated")
    finally:
        user.delete()


def test_an_expired_platform_token_is_refused():
    from datetime import timedelta

    user, _key = make_user("token-expired", staff=True, permissions=["view_tenant"])
    try:
        _token, key = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
        assert_error(PlatformClient(key).get("tenants"), 401, "not_authenticated")
        token, fresh = AuthToken.objects.create(user=user)  # TOKEN_TTL: PLATFORM_TOKEN_TTL_DAYS (30)
        assert PlatformClient(fresh).get("tenants").status_code == 200
        assert token.expiry > token.created + timedelta(days=29)
    finally:
        user.delete()
