"""No answer from WeChat: the check is submitted again (AVATARS_CHECK_RETRIES times) by the periodic sweep, which
visits only the tenants marked as having avatars pending; then the avatar is `unchecked`, on the console's page."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from avatars.checks import avatars_full_sweep, avatars_sweep, media_check_pushed
from avatars.models import Avatar
from avatars.pending import pending_due_at, pending_unmark
from avatars.services import avatars_pending_remark
from avatars.tests.conftest import run_jobs, upload
from avatars.tests.images import image_bytes
from core.tenant_context import activate_tenant
from tenants.jobs import periodic
from tenants.jobs.periodic import periodic_enqueue_due, periodic_jobs_registered
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import wait_for

pytestmark = pytest.mark.usefixtures("tenant_db", "queue_name")


def in_tenant(app_id: str):  # noqa: ANN201
    return activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id)))


def half_an_hour_passes(app_id: str) -> None:
    """WeChat's 30 minutes go by: the tenant's pending checks, and its mark, are due now."""
    with in_tenant(app_id):
        Avatar.objects.filter(status=Avatar.Status.PENDING).update(check_due_at=timezone.now() - timedelta(seconds=1))
        avatars_pending_remark()


def test_the_sweep_and_the_daily_sweep_are_periodic_platform_jobs():
    jobs = {job.name: job for job in periodic_jobs_registered()}
    assert jobs["avatars-sweep"].func == "avatars.checks.avatars_sweep"
    assert jobs["avatars-sweep"].every_seconds == 300
    assert jobs["avatars-full-sweep"].func == "avatars.checks.avatars_full_sweep"


def test_an_unanswered_check_is_submitted_again_twice_then_unchecked_and_shown(logged_in, media, admin_client):
    alice = logged_in(TENANT_A, "code-alice")
    media.verdict("none", app_id=TENANT_A)  # WeChat never answers
    assert upload(alice, image_bytes("JPEG")).status_code == 202
    run_jobs()
    assert pending_due_at(app_id=TENANT_A) is not None  # marked on commit, due in 30 minutes
    assert avatars_sweep() == {"tenants": {}}  # not due yet: no tenant visited

    for submissions in (2, 3):
        half_an_hour_passes(TENANT_A)
        assert avatars_sweep()["tenants"] == {TENANT_A: {"retried": 1, "unchecked": 0}}
        run_jobs()
        assert len(media.checks(TENANT_A)) == submissions
        with in_tenant(TENANT_A):
            assert Avatar.objects.get().submissions == submissions

    half_an_hour_passes(TENANT_A)
    assert avatars_sweep()["tenants"] == {TENANT_A: {"retried": 0, "unchecked": 1}}
    assert len(media.checks(TENANT_A)) == 3  # the first and two more, no fourth
    assert pending_due_at(app_id=TENANT_A) is None  # nothing pending: no longer visited
    assert alice.get("/api/v1/me").json()["avatar_state"] == "unchecked"
    tenant = Tenant.objects.get(app_id=TENANT_A)
    page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/avatars/")
    assert page.status_code == 200 and b"unchecked" in page.content

    # A late answer to the first submission still counts.
    first = media.checks(TENANT_A)[0]
    media.push(first["trace_id"], suggest="pass")
    wait_for(lambda: media.checks(TENANT_A)[0]["pushed"], 10)
    with in_tenant(TENANT_A):
        assert media_check_pushed(media.checks(TENANT_A)[0]["pushed"][0])["status"] == "approved"
    assert alice.get("/api/v1/me").json()["avatar_state"] == "approved"


def test_the_sweep_visits_only_marked_tenants_and_the_daily_sweep_marks_the_forgotten(logged_in, media):
    media.verdict("none")
    for app_id in (TENANT_A, TENANT_B):
        upload(logged_in(app_id, "code-alice"), image_bytes("PNG"), name="a.png")
    run_jobs()
    half_an_hour_passes(TENANT_A)
    half_an_hour_passes(TENANT_B)
    pending_unmark(app_id=TENANT_B)  # B's mark lost (Redis restarted empty, say)

    assert set(avatars_sweep()["tenants"]) == {TENANT_A}
    with in_tenant(TENANT_B):
        assert Avatar.objects.get().submissions == 1  # B was not visited

    assert avatars_full_sweep() == {"marked": 2}  # A is marked again (due in 30 minutes), B found again
    assert set(avatars_sweep()["tenants"]) == {TENANT_B}


def test_a_suspended_tenant_stays_marked_and_is_not_visited(logged_in, media):
    media.verdict("none")
    upload(logged_in(TENANT_A, "code-alice"), image_bytes("PNG"), name="a.png")
    run_jobs()
    half_an_hour_passes(TENANT_A)
    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.SUSPENDED)
    assert avatars_sweep() == {"tenants": {}}
    assert pending_due_at(app_id=TENANT_A) is not None


def test_the_relays_periodic_pass_runs_the_sweep_as_a_platform_job(logged_in, media):
    media.verdict("none")
    upload(logged_in(TENANT_A, "code-alice"), image_bytes("PNG"), name="a.png")
    run_jobs()
    half_an_hour_passes(TENANT_A)
    ours = {name: job for name, job in periodic._registered.items() if name.startswith("avatars-")}
    with mock.patch.dict(periodic._registered, ours, clear=True):
        assert sorted(periodic_enqueue_due()) == ["avatars-full-sweep", "avatars-sweep"]
        assert periodic_enqueue_due() == []  # once per period, whichever process asks
    run_jobs()  # the sweep (a platform job) queues the submission (a tenant job), which runs in the same burst
    assert len(media.checks(TENANT_A)) == 2
