"""The evening reminder (a subscribe message sent by jobs, once per promise) and the console's members page."""

import pytest

from checkin.jobs import reminders_enqueue_due
from checkin.models import Member
from checkin.services import checkin_settings_set
from checkin.tests.helpers import context_of, logged_in
from core.tenant_context import activate_tenant
from pushes.models import SubscriptionState
from tenants.models import Tenant
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import fetch, jobs_queue

pytestmark = pytest.mark.usefixtures("queue_name")

TEMPLATE = "tmpl-checkin-reminder"


def reminders_on(app_id: str, wechat, reminder_hour: int = 0) -> None:  # noqa: ANN001
    wechat.control.add_template(app_id, TEMPLATE)
    with activate_tenant(context_of(app_id)):
        checkin_settings_set(reminder_template_id=TEMPLATE, reminder_hour=reminder_hour)


def run_queued_jobs() -> list[object]:
    """Every job on this test's queue, in order, in this process (jobs they enqueue included)."""
    results, done = [], set()
    while pending := [job_id for job_id in jobs_queue().job_ids if job_id not in done]:
        for job_id in pending:
            results.append(fetch(job_id).perform())
            done.add(job_id)
    return results


def test_a_member_who_asked_is_reminded_once_by_a_subscribe_message(wechat):
    reminders_on(TENANT_A, wechat)
    alice = logged_in(TENANT_A)
    openid = alice.get("/api/v1/me").json()["openid"]
    wechat.control.grant_subscription(TENANT_A, openid=openid, template_id=TEMPLATE)
    assert alice.post("/api/v1/checkin/reminder").json()["reminder_wanted"] is True

    assert reminders_enqueue_due() == [TENANT_A]
    assert {"sent": 1, "refused": 0} in run_queued_jobs()
    [message] = wechat.control.messages(TENANT_A)
    assert (message["touser"], message["template_id"]) == (openid, TEMPLATE)
    # The promise is used up: nothing more today, nor is anything enqueued for it.
    assert reminders_enqueue_due() == []
    assert alice.get("/api/v1/checkin/me").json()["member"]["reminder_wanted"] is False


def test_a_member_who_refused_the_template_since_gets_nothing_and_the_promise_is_void(wechat):
    reminders_on(TENANT_A, wechat)
    alice = logged_in(TENANT_A)
    openid = alice.get("/api/v1/me").json()["openid"]
    assert alice.post("/api/v1/checkin/reminder").status_code == 200
    with activate_tenant(context_of(TENANT_A)):
        SubscriptionState.objects.create(openid=openid, template_id=TEMPLATE, status=SubscriptionState.Status.REJECT)
    try:
        assert reminders_enqueue_due() == [TENANT_A]
        assert run_queued_jobs() == [{"sent": 0, "refused": 1}]
        assert wechat.control.messages(TENANT_A) == []
        assert alice.get("/api/v1/checkin/me").json()["member"]["reminder_wanted"] is False
    finally:
        with activate_tenant(context_of(TENANT_A)):
            SubscriptionState.objects.all().delete()


def test_no_reminder_before_the_hour_after_a_check_in_or_without_a_template(wechat):
    alice_a, alice_b = logged_in(TENANT_A), logged_in(TENANT_B)
    reminders_on(TENANT_A, wechat, reminder_hour=24)  # an hour that never comes
    for client in (alice_a, alice_b):  # B has no template configured
        assert client.post("/api/v1/checkin/reminder").status_code == 200
    assert reminders_enqueue_due() == []

    reminders_on(TENANT_A, wechat, reminder_hour=0)
    assert alice_a.post("/api/v1/checkin/checkins").status_code == 201
    assert reminders_enqueue_due() == []


def test_a_suspended_tenant_is_not_looked_into(wechat):
    reminders_on(TENANT_A, wechat)
    assert logged_in(TENANT_A).post("/api/v1/checkin/reminder").status_code == 200
    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.SUSPENDED)
    assert reminders_enqueue_due() == []


def test_the_console_shows_a_tenants_members_only(admin_client, wechat):
    assert logged_in(TENANT_A).post("/api/v1/checkin/checkins").status_code == 201
    logged_in(TENANT_B)
    for app_id, expected in ((TENANT_A, 1), (TENANT_B, 0)):
        tenant = Tenant.objects.get(app_id=app_id)
        page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/checkin/")
        assert page.status_code == 200
        assert f"Check-in members of {app_id}: {expected} in all" in page.content.decode()
        with activate_tenant(context_of(app_id)):
            assert Member.objects.count() == expected
