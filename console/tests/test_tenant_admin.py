"""Onboarding and running tenants from Django admin (Django's test client), with the fake WeChat server."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import caches
from django.test import Client

from accounts.models import MiniProgramUser
from console.tests.audit import AuditSince
from core.tenant_context import activate_tenant
from tenants.app_ids import tenant_db_name
from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B, session_secret, tenant_databases_on_server
from tests.workers import jobs_queue, running_workers, wait_for

pytestmark = pytest.mark.usefixtures("wechat")
NEW_APP_ID = "wx00000000000000f6"
NEW_SECRET = "new-app-secret-0123456789"


def tenant(app_id):
    return Tenant.objects.get(app_id=app_id)


def page(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_non_staff_users_are_refused():
    user = User.objects.create_user("not-staff", password="pw-for-tests")
    client = Client()
    client.force_login(user)
    try:
        for url in (
            "/admin/tenants/tenant/",
            "/admin/tenants/tenant/add/",
            f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/retire/",
        ):
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    finally:
        user.delete()


def test_the_list_searches_and_filters_by_status_and_server(admin_client):
    Tenant.objects.filter(app_id=TENANT_B).update(status=Tenant.Status.SUSPENDED)
    suspended = page(admin_client.get("/admin/tenants/tenant/?status__exact=suspended"))
    assert TENANT_B in suspended and TENANT_A not in suspended
    found = page(admin_client.get(f"/admin/tenants/tenant/?q={TENANT_A}"))
    assert TENANT_A in found and TENANT_B not in found
    on_main = page(admin_client.get("/admin/tenants/tenant/?db_server__exact=main"))
    assert TENANT_A in on_main and TENANT_B in on_main


def test_onboarding_in_one_form_registers_at_once_and_a_worker_makes_it_ready(
    admin_client, wechat, queue_name, tmp_path
):
    wechat.control.register_app(NEW_APP_ID, NEW_SECRET)
    form = {"app_id": NEW_APP_ID, "name": "新店 🛍️", "server": "main", "app_secret": NEW_SECRET}
    response = admin_client.post("/admin/tenants/tenant/add/", form)
    assert response.status_code == 302
    registered = tenant(NEW_APP_ID)
    assert registered.status == "provisioning" and registered.provisioning_job_id
    assert secret_decrypt(registered.app_secret_encrypted) == NEW_SECRET
    change_page = page(admin_client.get(response["Location"]))
    assert f"{registered.provisioning_job_id}: queued" in change_page
    assert 'http-equiv="refresh"' in change_page  # the page follows the job by itself
    assert NEW_SECRET not in change_page

    with running_workers(1, tmp_path):
        wait_for(lambda: tenant(NEW_APP_ID).status == "active", 60, "the provisioning job did not finish")
    assert tenant_db_name(NEW_APP_ID) in tenant_databases_on_server()
    ready_page = page(admin_client.get(response["Location"]))
    assert f"{registered.provisioning_job_id}: finished" in ready_page
    assert 'http-equiv="refresh"' not in ready_page


def test_onboarding_a_duplicate_app_id_is_refused_with_a_message(admin_client, queue_name):
    response = admin_client.post("/admin/tenants/tenant/add/", {"app_id": TENANT_A, "name": "again", "server": "main"})
    assert "registered already" in page(response)
    assert Tenant.objects.filter(app_id=TENANT_A).count() == 1
    assert len(jobs_queue()) == 0


def test_onboarding_refuses_a_malformed_app_id(admin_client, queue_name):
    response = admin_client.post("/admin/tenants/tenant/add/", {"app_id": "wx`;drop", "name": "x", "server": "main"})
    assert "not a valid AppID" in page(response)
    assert len(jobs_queue()) == 0


@pytest.mark.parametrize(
    ("errcode", "says"),
    [
        (40013, "does not know this AppID (40013)"),
        (40125, "The AppSecret is wrong (40125)"),
        (40164, "IP whitelist"),
        (89503, "confirm this server&#x27;s IP address (89503)"),
    ],
)
def test_rotating_the_secret_shows_what_to_fix_when_wechat_refuses_and_keeps_the_old_one(
    admin_client, wechat, errcode, says
):
    wechat.control.fail_next("/cgi-bin/stable_token", errcode=errcode, app_id=TENANT_A)
    url = f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/rotate-secret/"
    html = page(admin_client.post(url, {"app_secret": "a-candidate-secret"}))
    assert says in html
    assert "a-candidate-secret" not in html
    assert secret_decrypt(tenant(TENANT_A).app_secret_encrypted) == session_secret(TENANT_A)


def test_rotating_to_a_secret_wechat_accepts_stores_it(admin_client, wechat):
    wechat.control.register_app(TENANT_A, "the-rotated-secret", unionid=True)
    url = f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/rotate-secret/"
    response = admin_client.post(url, {"app_secret": "the-rotated-secret"})
    assert response.status_code == 302
    assert secret_decrypt(tenant(TENANT_A).app_secret_encrypted) == "the-rotated-secret"


def test_suspend_and_resume_actions(admin_client):
    pk = tenant(TENANT_A).pk
    admin_client.post("/admin/tenants/tenant/", {"action": "suspend_selected", "_selected_action": [pk]})
    assert tenant(TENANT_A).status == "suspended"
    assert Client().get("/api/v1/ping", headers={"X-AppID": TENANT_A}).status_code == 403
    admin_client.post("/admin/tenants/tenant/", {"action": "resume_selected", "_selected_action": [pk]})
    assert tenant(TENANT_A).status == "active"
    assert Client().get("/api/v1/ping", headers={"X-AppID": TENANT_A}).status_code == 200


def test_the_users_page_reads_one_tenant_in_its_own_context(admin_client):
    for app_id, openid in ((TENANT_A, "only-in-a"), (TENANT_B, "only-in-b")):
        with activate_tenant(tenant_context_for(tenant(app_id))):
            MiniProgramUser.objects.create(openid=openid, nickname="昵称😀")
    html = page(admin_client.get(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/users/"))
    assert "only-in-a" in html and "昵称😀" in html
    assert "only-in-b" not in html


def test_the_change_page_shows_the_tenants_facts(admin_client):
    with activate_tenant(tenant_context_for(tenant(TENANT_A))):
        MiniProgramUser.objects.create(openid="counted")
    Client().get("/api/v1/ping", headers={"X-AppID": TENANT_A})
    html = page(admin_client.get(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/change/"))
    assert "users: 1" in html
    assert "last request: never" not in html
    assert "Rotate AppSecret" in html and "Retire" in html


def test_retiring_takes_two_steps_and_leaves_nothing_behind(admin_client, wechat, queue_name):
    from tenants.jobs import enqueue
    from tenants.services import tenant_provision
    from tests.job_functions import record_database

    tenant_provision(app_id=NEW_APP_ID, name="Doomed")
    Client().get("/api/v1/ping", headers={"X-AppID": NEW_APP_ID})  # cached entries and a last-request time
    with activate_tenant(tenant_context_for(tenant(NEW_APP_ID))):
        enqueue(record_database, "never-runs")
    assert len(jobs_queue()) == 1
    url = f"/admin/tenants/tenant/{tenant(NEW_APP_ID).pk}/retire/"

    assert "deletes for good" in page(admin_client.get(url))
    wrong = page(admin_client.post(url, {"confirm_app_id": TENANT_A}))
    assert "Type the AppID again" in wrong
    assert Tenant.objects.filter(app_id=NEW_APP_ID).exists()

    assert admin_client.post(url, {"confirm_app_id": NEW_APP_ID}).status_code == 302
    assert not Tenant.objects.filter(app_id=NEW_APP_ID).exists()
    assert tenant_db_name(NEW_APP_ID) not in tenant_databases_on_server()
    assert caches["platform"].get(f"tenant:{NEW_APP_ID}") is None
    assert caches["platform"].get(f"tenant-last-request:{NEW_APP_ID}") is None
    assert len(jobs_queue()) == 0


def test_django_admins_delete_is_not_offered(admin_client):
    html = page(admin_client.get(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/change/"))
    assert f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/delete/" not in html
    assert admin_client.post(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/delete/", {"post": "yes"}).status_code == 403
    assert Tenant.objects.filter(app_id=TENANT_A).exists()


# --- Django permissions govern every page and action; every lifecycle action is in the audit trail ---------


@pytest.fixture
def staff_with(tenant_db):
    """A logged-in staff user (not a superuser) holding just the named permissions."""
    made: list[User] = []

    def make(*codenames):
        user = User.objects.create_user(f"admin-staff-{len(made)}", password="pw-for-tests", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        made.append(user)
        client = Client()
        client.force_login(user)
        return client

    yield make
    for user in made:
        user.delete()


def run_action(client, action, app_id):
    return client.post("/admin/tenants/tenant/", {"action": action, "_selected_action": [tenant(app_id).pk]})


def test_staff_without_permissions_can_open_no_tenant_page_and_run_no_action(staff_with):
    client = staff_with()
    pk = tenant(TENANT_A).pk
    audit = AuditSince()
    for url in ("", "add/", f"{pk}/change/", f"{pk}/rotate-secret/", f"{pk}/retire/", f"{pk}/users/"):
        assert client.get(f"/admin/tenants/tenant/{url}").status_code == 403, url
    assert run_action(client, "suspend_selected", TENANT_A).status_code == 403
    assert client.post(f"/admin/tenants/tenant/{pk}/retire/", {"confirm_app_id": TENANT_A}).status_code == 403
    assert client.post(f"/admin/tenants/tenant/{pk}/rotate-secret/", {"app_secret": "x"}).status_code == 403
    assert tenant(TENANT_A).status == "active"
    audit.none()


def test_view_permission_shows_the_list_but_offers_and_runs_no_suspension(staff_with):
    client = staff_with("view_tenant")
    listing = page(client.get("/admin/tenants/tenant/"))
    assert TENANT_A in listing and "suspend_selected" not in listing
    run_action(client, "suspend_selected", TENANT_A)
    assert tenant(TENANT_A).status == "active"
    change = page(client.get(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/change/"))
    assert "Rotate AppSecret" not in change and "/retire/" not in change
    assert client.get(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/retire/").status_code == 403


def test_the_suspend_permission_allows_suspending_and_resuming_and_nothing_else(staff_with):
    client = staff_with("view_tenant", "suspend_tenant")
    pk = tenant(TENANT_A).pk
    assert "suspend_selected" in page(client.get("/admin/tenants/tenant/"))
    run_action(client, "suspend_selected", TENANT_A)
    assert tenant(TENANT_A).status == "suspended"
    run_action(client, "resume_selected", TENANT_A)
    assert tenant(TENANT_A).status == "active"
    assert client.get(f"/admin/tenants/tenant/{pk}/rotate-secret/").status_code == 403
    assert client.get(f"/admin/tenants/tenant/{pk}/retire/").status_code == 403
    assert client.get("/admin/tenants/tenant/add/").status_code == 403


def test_the_rotate_and_retire_permissions_each_open_their_own_page_only(staff_with):
    pk = tenant(TENANT_A).pk
    rotator = staff_with("rotate_secret")
    assert rotator.get(f"/admin/tenants/tenant/{pk}/rotate-secret/").status_code == 200
    assert rotator.get(f"/admin/tenants/tenant/{pk}/retire/").status_code == 403
    assert run_action(rotator, "suspend_selected", TENANT_A).status_code == 403
    retirer = staff_with("retire_tenant")
    assert retirer.get(f"/admin/tenants/tenant/{pk}/retire/").status_code == 200
    assert retirer.get(f"/admin/tenants/tenant/{pk}/rotate-secret/").status_code == 403
    both = staff_with("view_tenant", "rotate_secret", "retire_tenant")
    change = page(both.get(f"/admin/tenants/tenant/{pk}/change/"))
    assert "Rotate AppSecret" in change and f"/admin/tenants/tenant/{pk}/retire/" in change


def test_each_admin_lifecycle_action_writes_one_audit_entry(admin_client, wechat, queue_name, settings):
    from tenants.services import tenant_provision

    admin = User.objects.get(username="platform-admin")
    settings.TRUSTED_PROXY_COUNT = 1
    forwarded = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.7"}
    audit = AuditSince()

    def entry(action, app_id):
        found = audit.one()
        assert (found.action, found.app_id, found.door) == (action, app_id, "admin")
        assert (found.actor, found.actor_id, found.address) == ("platform-admin", admin.pk, "198.51.100.7")

    form = {"app_id": NEW_APP_ID, "name": "审计", "server": "main"}
    assert admin_client.post("/admin/tenants/tenant/add/", form, **forwarded).status_code == 302
    entry("onboard", NEW_APP_ID)
    pk = tenant(TENANT_B).pk
    admin_client.post("/admin/tenants/tenant/", {"action": "suspend_selected", "_selected_action": [pk]}, **forwarded)
    entry("suspend", TENANT_B)
    admin_client.post("/admin/tenants/tenant/", {"action": "resume_selected", "_selected_action": [pk]}, **forwarded)
    entry("resume", TENANT_B)
    wechat.control.register_app(TENANT_A, "rotated-in-admin", unionid=True)
    url = f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/rotate-secret/"
    assert admin_client.post(url, {"app_secret": "rotated-in-admin"}, **forwarded).status_code == 302
    entry("rotate_secret", TENANT_A)
    tenant_provision(app_id="wx00000000000000f9", name="Doomed")
    url = f"/admin/tenants/tenant/{tenant('wx00000000000000f9').pk}/retire/"
    assert admin_client.post(url, {"confirm_app_id": "wx00000000000000f9"}, **forwarded).status_code == 302
    entry("retire", "wx00000000000000f9")
    # A refused attempt is no action done: no entry.
    wrong = admin_client.post(f"/admin/tenants/tenant/{tenant(TENANT_A).pk}/retire/", {"confirm_app_id": "x"})
    assert wrong.status_code == 200
    audit.none()


def test_the_audit_trail_is_readable_in_the_admin_and_never_editable(admin_client, staff_with):
    from console.models import AuditEntry

    admin_client.post(
        "/admin/tenants/tenant/", {"action": "suspend_selected", "_selected_action": [tenant(TENANT_A).pk]}
    )
    entry = AuditEntry.objects.filter(app_id=TENANT_A, action="suspend").latest("id")
    assert entry.environment == "test"
    # Another environment's entry in the shared control database is not this one's to read.
    AuditEntry.objects.create(
        actor="prod-operator", action="suspend", app_id=TENANT_A, door="api", environment="master"
    )
    listing = page(admin_client.get("/admin/console/auditentry/"))
    assert TENANT_A in listing and "platform-admin" in listing
    assert "prod-operator" not in listing
    assert "/admin/console/auditentry/add/" not in listing
    detail = page(admin_client.get(f"/admin/console/auditentry/{entry.pk}/change/"))
    assert 'name="actor"' not in detail  # shown, not a form field
    assert admin_client.get("/admin/console/auditentry/add/").status_code == 403
    edited = admin_client.post(f"/admin/console/auditentry/{entry.pk}/change/", {"actor": "someone-else"})
    assert edited.status_code == 403
    assert admin_client.post(f"/admin/console/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    admin_client.post("/admin/console/auditentry/", bulk)
    assert AuditEntry.objects.get(pk=entry.pk).actor == "platform-admin"
    # Reading it takes its own permission.
    assert staff_with("view_tenant").get("/admin/console/auditentry/").status_code == 403
    assert staff_with("view_auditentry").get("/admin/console/auditentry/").status_code == 200
    with pytest.raises(ValueError, match="never changed"):
        entry.save()


@pytest.mark.parametrize("page_name", ["users", "retire", "rotate-secret"])
@pytest.mark.parametrize("object_id", ["abc", "1%20", "-1"])
def test_a_tenant_page_of_an_id_that_is_no_number_is_404_not_500(admin_client, page_name, object_id):
    response = admin_client.get(f"/admin/tenants/tenant/{object_id}/{page_name}/")
    assert response.status_code == 404
