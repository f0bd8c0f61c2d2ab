"""GET /api/v1/jobs/<id> needs the token of the user whose request enqueued the job; everyone else gets 401
(no token) or the 404 of an id that never existed."""

import subprocess

import pytest

from accounts.models import UserJob
from api.tests.conftest import TenantClient
from core.tenant_context import activate_tenant
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.job_functions import record_database

pytestmark = pytest.mark.usefixtures("wechat", "queue_name")

MESSAGE = {"template_id": "tmpl-visibility", "data": {"thing1": {"value": "咖啡好了"}}}


def logged_in(app_id: str, code: str) -> TenantClient:
    client = TenantClient(app_id)
    assert client.login(code).status_code == 200
    return client


def not_found(response) -> bool:  # noqa: ANN001
    return response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"


def test_a_job_is_shown_to_the_user_whose_request_enqueued_it_only():
    alice, bob = logged_in(TENANT_A, "code-alice"), logged_in(TENANT_A, "code-bob")
    accepted = alice.post("/api/v1/messages/subscribe", MESSAGE)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]

    own = alice.get(f"/api/v1/jobs/{job_id}")
    assert own.status_code == 200
    assert (own.json()["id"], own.json()["status"]) == (job_id, "queued")

    anonymous = TenantClient(TENANT_A).get(f"/api/v1/jobs/{job_id}")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "not_authenticated")
    assert not_found(bob.get(f"/api/v1/jobs/{job_id}"))  # same tenant, another user
    carol_b = logged_in(TENANT_B, "code-carol")
    assert not_found(carol_b.get(f"/api/v1/jobs/{job_id}"))  # another tenant


def test_a_nickname_check_is_its_users_job():
    alice = logged_in(TENANT_A, "code-alice")
    assert alice.patch("/api/v1/me", {"nickname": "新名字"}).status_code == 200
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        [owned] = UserJob.objects.all()
    assert alice.get(f"/api/v1/jobs/{owned.job_id}").status_code == 200
    assert not_found(logged_in(TENANT_A, "code-bob").get(f"/api/v1/jobs/{owned.job_id}"))


def test_a_job_no_user_enqueued_is_shown_to_no_user():
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        job_id = enqueue(record_database, "no-user")
    assert not_found(logged_in(TENANT_A, "code-alice").get(f"/api/v1/jobs/{job_id}"))


def test_a_restored_database_does_not_hand_a_job_to_the_user_who_now_has_its_owners_id():
    tenant = Tenant.objects.get(app_id=TENANT_A)
    backup = subprocess.run(
        ["mariadb-dump", "-h127.0.0.1", "-uroot", tenant.db_name], check=True, capture_output=True, timeout=60
    ).stdout
    alice = logged_in(TENANT_A, "code-alice")
    alice_id = alice.get("/api/v1/me").json()["id"]
    job_id = alice.post("/api/v1/messages/subscribe", MESSAGE).json()["job_id"]
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", tenant.db_name], input=backup, check=True, timeout=60)

    bob = logged_in(TENANT_A, "code-bob")
    assert bob.get("/api/v1/me").json()["id"] == alice_id
    assert not_found(bob.get(f"/api/v1/jobs/{job_id}"))


def test_a_new_nickname_and_its_check_commit_together(settings):
    """If the check's records cannot be written, the nickname is not saved either (one transaction)."""
    from unittest import mock

    from django.db import IntegrityError

    alice = logged_in(TENANT_A, "code-alice")
    with (
        mock.patch.object(UserJob.objects, "create", side_effect=IntegrityError("simulated")),
        pytest.raises(IntegrityError),
    ):
        alice.patch("/api/v1/me", {"nickname": "未检查"})
    assert alice.get("/api/v1/me").json()["nickname"] == ""
