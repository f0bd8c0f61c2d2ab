"""The doors of a release: the commands (release_template, release_approved, release_status, code_templates) and
the admin (the start form, the board with WeChat's words, the actions), each checked for what it refuses."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client

from component.releases.models import Release, ReleaseTarget, Stage
from component.releases.steps import target_advance
from tenants.models import Tenant
from tests.helpers import TENANT_A, TENANT_B
from wechat.fake_server.templates import TemplatesControl

pytestmark = pytest.mark.usefixtures("tenant_db")


def release_template(*args: str) -> str:
    out = StringIO()
    call_command("release_template", *args, stdout=out)
    return out.getvalue()


def test_release_template_starts_one_job_per_tenant_with_the_ext_json_file(code, template_id, tmp_path):
    ext = tmp_path / "ext.json"
    ext.write_text(json.dumps({"ext": {"api": "https://api.example.com/$app_id"}}), encoding="utf-8")
    out = release_template(
        str(template_id), "--tenants", TENANT_A, TENANT_B, "--user-version", "1.0.1", "--user-desc", "fix",
        "--ext-json-file", str(ext),
    )  # fmt: skip
    release = Release.objects.get()
    assert f"release {release.pk}" in out and "2 tenants queued" in out
    assert release.started_by.endswith("(command)") and not release.auto_release
    rows = {target.app_id: json.loads(target.ext_json) for target in release.targets.all()}
    assert rows[TENANT_B]["ext"]["api"] == f"https://api.example.com/{TENANT_B}"
    assert rows[TENANT_B]["extAppid"] == TENANT_B


def test_release_template_refuses_unknown_tenants_and_bad_files_and_starts_nothing(code, template_id, tmp_path):
    with pytest.raises(CommandError, match="release_invalid: No active tenant wx00000000000000ee"):
        release_template(str(template_id), "--tenants", "wx00000000000000ee", "--user-version", "1", "--user-desc", "d")
    broken = tmp_path / "ext.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="is not JSON"):
        release_template(
            str(template_id), "--all", "--user-version", "1", "--user-desc", "d", "--ext-json-file", str(broken)
        )
    Tenant.objects.update(auth_mode=Tenant.AuthMode.SECRET)
    with pytest.raises(CommandError, match="No tenant to release to"):  # --all: no tenant authorized the platform
        release_template(str(template_id), "--all", "--user-version", "1", "--user-desc", "d")
    assert not Release.objects.exists()


def test_release_status_and_release_approved_follow_a_release(code: TemplatesControl, template_id: int):
    release_template(str(template_id), "--tenants", TENANT_A, "--user-version", "1.0.2", "--user-desc", "d")
    target = ReleaseTarget.objects.get()
    code.set_app(TENANT_A, audit_outcome="success")
    target_advance(target_id=target.pk)
    ReleaseTarget.objects.filter(pk=target.pk).update(next_check_at=None)
    target_advance(target_id=target.pk)
    status = StringIO()
    call_command("release_status", str(target.release_id), "--json", stdout=status)
    assert json.loads(status.getvalue()) == [
        {"app_id": TENANT_A, "stage": "approved", "auditid": target.release.targets.get().auditid, "errcode": None,
         "wechat_message": ""},
    ]  # fmt: skip
    out = StringIO()
    call_command("release_approved", str(target.release_id), stdout=out)
    assert "1 tenants to release" in out.getvalue()
    target_advance(target_id=target.pk)
    assert ReleaseTarget.objects.get().stage == Stage.RELEASED
    with pytest.raises(CommandError, match="no release 999999"):
        call_command("release_status", "999999", stdout=StringIO())


def test_code_templates_lists_the_library_and_adds_a_draft(code: TemplatesControl, template_id: int):
    draft_id = code.add_draft(user_version="2.0.0", user_desc="next")
    out = StringIO()
    call_command("code_templates", "--drafts", stdout=out)
    assert f"{draft_id}\t2.0.0\tnext" in out.getvalue()
    out = StringIO()
    call_command("code_templates", "--add-draft", str(draft_id), stdout=out)
    assert f"{template_id}\t1.4.0\tshop template" in out.getvalue()
    assert "2.0.0\tnext" in out.getvalue().splitlines()[-1]
    with pytest.raises(CommandError, match="85064"):
        call_command("code_templates", "--add-draft", "424242", stdout=StringIO())


def test_the_admin_starts_a_release_and_its_board_shows_each_stage_and_wechats_words(
    code: TemplatesControl, template_id: int, admin_client: Client
):
    page = admin_client.get("/admin/component_releases/release/add/")
    assert page.status_code == 200
    assert b"shop template" in page.content  # the library, read with the component's token

    code.set_app(TENANT_B, quota_exceeded=True)
    form = {"template_id": template_id, "tenants": f"{TENANT_A}\n{TENANT_B}", "user_version": "1.5", "user_desc": "d"}
    started = admin_client.post("/admin/component_releases/release/add/", form)
    release = Release.objects.get()
    assert started.status_code == 302 and started["Location"].endswith(f"/release/{release.pk}/change/")
    assert release.started_by == "platform-admin (admin)"
    for target in release.targets.all():
        target_advance(target_id=target.pk)

    board = admin_client.get(f"/admin/component_releases/releasetarget/?release__id__exact={release.pk}")
    assert board.status_code == 200
    assert b"quota_exceeded" in board.content and b"85085" in board.content
    assert "submit audit reach limit" in board.content.decode()
    releases = admin_client.get("/admin/component_releases/release/")
    assert b"auditing: 1, quota_exceeded: 1" in releases.content
    detail = admin_client.get(f"/admin/component_releases/release/{release.pk}/change/")
    assert detail.status_code == 200 and TENANT_B.encode() in detail.content

    retry = {"action": "retry_selected", "_selected_action": [release.targets.get(app_id=TENANT_A).pk]}
    answer = admin_client.post("/admin/component_releases/releasetarget/", retry, follow=True)
    assert "is auditing: nothing to retry" in answer.content.decode()


def test_the_admin_form_refuses_bad_input_and_starts_nothing(code, template_id, admin_client):
    both = {"template_id": template_id, "tenants": TENANT_A, "all_tenants": "on", "user_version": "1", "user_desc": "d"}
    assert b"one of the two" in admin_client.post("/admin/component_releases/release/add/", both).content
    bad_json = {"template_id": template_id, "tenants": TENANT_A, "user_version": "1", "user_desc": "d", "ext_json": "{"}
    assert b"Not JSON" in admin_client.post("/admin/component_releases/release/add/", bad_json).content
    unknown = {"template_id": template_id, "tenants": "wx00000000000000ee", "user_version": "1", "user_desc": "d"}
    assert (
        b"No active tenant wx00000000000000ee"
        in admin_client.post("/admin/component_releases/release/add/", unknown).content
    )
    assert not Release.objects.exists()


def test_staff_without_the_permission_cannot_start_a_release(code, template_id):
    user = User.objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_release"))
    client = Client()
    client.force_login(user)
    try:
        assert client.get("/admin/component_releases/release/").status_code == 200
        form = {"template_id": template_id, "tenants": TENANT_A, "user_version": "1", "user_desc": "d"}
        assert client.post("/admin/component_releases/release/add/", form).status_code == 403
        assert not Release.objects.exists()
        assert Tenant.objects.filter(app_id=TENANT_A).exists()
    finally:
        user.delete()


def test_release_check_asks_wechat_now_about_the_tenants_in_audit(code: TemplatesControl, template_id: int):
    release_template(str(template_id), "--tenants", TENANT_A, "--user-version", "1.0.3", "--user-desc", "d")
    target = ReleaseTarget.objects.get()
    target_advance(target_id=target.pk)
    code.decide_audit(TENANT_A, "fail", reason="功能不完整")
    out = StringIO()
    call_command("release_check", str(target.release_id), stdout=out)
    assert "1 tenants checked" in out.getvalue()
    # The command's job waits in the queue: run it as a worker would.
    target_advance(target_id=target.pk)
    failed = ReleaseTarget.objects.get()
    assert (failed.stage, failed.wechat_message) == (Stage.AUDIT_FAILED, "功能不完整")


def test_with_open_platform_mode_off_the_library_says_so_and_the_start_page_still_works(admin_client, settings):
    settings.WECHAT_COMPONENT_APPID = ""  # no `code` fixture: the real component token is asked for
    page = admin_client.get("/admin/component_releases/release/add/")
    assert page.status_code == 200
    assert b"The library could not be read" in page.content
    with pytest.raises(CommandError, match="component_not_configured"):
        call_command("code_templates", stdout=StringIO())


def test_starting_releasing_and_retrying_are_in_the_audit_trail(code, template_id, admin_client):
    from console.models import AuditEntry

    release_template(str(template_id), "--tenants", TENANT_A, "--user-version", "1.0.4", "--user-desc", "d")
    release = Release.objects.get()
    started = AuditEntry.objects.get(action="template_release")
    assert (started.door, started.app_id) == ("command", "")
    assert started.details | {"host": None} == {
        "host": None, "release": release.pk, "template_id": template_id, "user_version": "1.0.4", "tenants": 1,
        "auto_release": False,
    }  # fmt: skip
    admin_client.post(
        "/admin/component_releases/release/", {"action": "release_approved", "_selected_action": [release.pk]}
    )
    go = AuditEntry.objects.get(action="template_release_go")
    assert (go.actor, go.door, go.details["tenants"]) == ("platform-admin", "admin", [TENANT_A])
