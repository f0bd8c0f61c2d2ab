"""A tenant's push settings through each door: the command, the platform API and the admin; validated, encrypted
at rest, never shown back, audited."""

import json
import time
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from knox.models import AuthToken

from console.tests.audit import AuditSince
from pushes.control.models import PushSettings
from pushes.control.services import PushSettingsChange, push_settings_set
from pushes.exceptions import PushSettingsInvalid
from pushes.tests.conftest import new_aes_key
from tenants.exceptions import TenantNotFound
from tenants.secret_rotation import encrypted_fields_registered
from tests.helpers import TENANT_A
from wechat.crypto import push_signature

TOKEN = "WeChatPushToken42"


def settings_row() -> PushSettings:
    return PushSettings.objects.get(app_id=TENANT_A)


# --- The service's validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (PushSettingsChange(token="ab", mode="plain"), "token"),  # under 3
        (PushSettingsChange(token="a" * 33, mode="plain"), "token"),  # over 32
        (PushSettingsChange(token="has space", mode="plain"), "token"),
        (PushSettingsChange(token="tökén", mode="plain"), "token"),
        (PushSettingsChange(mode="plain"), "token"),  # none stored yet
        (PushSettingsChange(token=TOKEN, mode="safe"), "aes_key"),  # safe needs a key
        (PushSettingsChange(token=TOKEN, mode="compatible"), "aes_key"),
        (PushSettingsChange(token=TOKEN, aes_key="short", mode="safe"), "aes_key"),
        (PushSettingsChange(token=TOKEN, aes_key="+" * 43, mode="safe"), "aes_key"),  # letters or digits only
        (PushSettingsChange(token=TOKEN, mode="loud"), "mode"),
        (PushSettingsChange(token=TOKEN, mode="plain", format="yaml"), "format"),
    ],
)
def test_settings_that_wechat_would_not_accept_are_refused_and_nothing_saved(pushes_db, change, field):
    with pytest.raises(PushSettingsInvalid) as refused:
        push_settings_set(app_id=TENANT_A, change=change)
    assert field in refused.value.fields
    assert not PushSettings.objects.filter(app_id=TENANT_A).exists()


def test_an_unknown_tenant_has_no_push_settings(pushes_db):
    with pytest.raises(TenantNotFound):
        push_settings_set(app_id="wx00000000000000ee", change=PushSettingsChange(token=TOKEN, mode="plain"))


def test_secrets_are_encrypted_at_rest_and_kept_when_omitted(pushes_db):
    key = new_aes_key()
    push_settings_set(app_id=TENANT_A, change=PushSettingsChange(token=TOKEN, aes_key=key, mode="safe"))
    row = settings_row()
    assert TOKEN not in row.token_encrypted and key not in row.aes_key_encrypted
    assert (row.token, row.aes_key) == (TOKEN, key)
    push_settings_set(app_id=TENANT_A, change=PushSettingsChange(format="xml"))
    row = settings_row()
    assert (row.token, row.aes_key, row.mode, row.format) == (TOKEN, key, "safe", "xml")


def test_the_encrypted_columns_are_registered_for_key_rotation():
    registered = {(entry.model, entry.field) for entry in encrypted_fields_registered()}
    assert {(PushSettings, "token_encrypted"), (PushSettings, "aes_key_encrypted")} <= registered


# --- The command ------------------------------------------------------------------------------------------------


def test_set_tenant_push_reads_secrets_from_the_environment_and_is_audited(pushes_db, monkeypatch):
    key = new_aes_key()
    monkeypatch.setenv("PUSH_TOKEN", TOKEN)
    monkeypatch.setenv("PUSH_KEY", key)
    audit = AuditSince()
    out = StringIO()
    call_command(
        "set_tenant_push", TENANT_A, "--token-env", "PUSH_TOKEN", "--aes-key-env", "PUSH_KEY", "--format", "xml",
        stdout=out,
    )  # fmt: skip
    assert out.getvalue().strip() == f"{TENANT_A}: pushes in safe mode, xml"
    assert (settings_row().token, settings_row().aes_key) == (TOKEN, key)
    entry = audit.one()
    assert (entry.action, entry.app_id, entry.door) == ("set_push", TENANT_A, "command")
    assert entry.details["token_changed"] is True and entry.details["format"] == "xml"
    assert TOKEN not in json.dumps(entry.details) and key not in json.dumps(entry.details)


def test_set_tenant_push_refuses_a_missing_variable_and_a_bad_token(pushes_db, monkeypatch):
    audit = AuditSince()
    with pytest.raises(CommandError, match="PUSH_NOTHING"):
        call_command("set_tenant_push", TENANT_A, "--token-env", "PUSH_NOTHING", "--mode", "plain")
    monkeypatch.setenv("PUSH_TOKEN", "no")
    with pytest.raises(CommandError, match="invalid"):
        call_command("set_tenant_push", TENANT_A, "--token-env", "PUSH_TOKEN", "--mode", "plain")
    with pytest.raises(CommandError, match="invalid"):  # safe mode (the default) needs --aes-key-env
        monkeypatch.setenv("PUSH_TOKEN", TOKEN)
        call_command("set_tenant_push", TENANT_A, "--token-env", "PUSH_TOKEN")
    audit.none()
    assert not PushSettings.objects.filter(app_id=TENANT_A).exists()


# --- The platform API ------------------------------------------------------------------------------------------


def staff_client(*permissions: str) -> tuple[Client, User]:
    user = User.objects.create_user(f"push-admin-{time.monotonic_ns()}", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return Client(headers={"Authorization": f"Token {AuthToken.objects.create(user=user)[1]}"}), user


@pytest.fixture
def changer(pushes_db):  # noqa: ANN001, ANN201
    client, user = staff_client("change_pushsettings")
    yield client
    user.delete()


def put(client: Client, body: dict, app_id: str = TENANT_A):  # noqa: ANN201
    return client.put(f"/platform/v1/tenants/{app_id}/push", body, content_type="application/json")


def test_put_push_settings_answers_without_the_secrets_and_is_audited(changer):
    key = new_aes_key()
    audit = AuditSince()
    response = put(changer, {"token": TOKEN, "aes_key": key, "mode": "compatible", "format": "json"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["push_path"] == f"/wechat/v1/push/{TENANT_A}"
    assert (body["mode"], body["has_token"], body["has_aes_key"]) == ("compatible", True, True)
    assert TOKEN not in response.content.decode() and key not in response.content.decode()
    entry = audit.one()
    assert (entry.action, entry.door, entry.details["mode"]) == ("set_push", "api", "compatible")
    read = changer.get(f"/platform/v1/tenants/{TENANT_A}/push")
    assert read.status_code == 200 and TOKEN not in read.content.decode()
    # The settings work: WeChat's URL check passes with the Token just stored.
    stamp, nonce = str(int(time.time())), "abc"
    query = {"signature": push_signature(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce, "echostr": "ok!"}
    assert Client().get(f"/wechat/v1/push/{TENANT_A}", query).content == b"ok!"


def test_put_push_settings_refuses_bad_values_with_their_fields(changer):
    audit = AuditSince()
    response = put(changer, {"token": "x", "mode": "safe"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and {"token", "aes_key"} <= set(error["fields"])
    assert put(changer, {"token": TOKEN, "mode": "plain"}, app_id="wx00000000000000ee").status_code == 404
    assert put(changer, {"token": TOKEN, "mode": "plain"}, app_id="nope").status_code == 400
    audit.none()
    assert not PushSettings.objects.filter(app_id=TENANT_A).exists()


def test_put_push_settings_needs_the_change_permission(pushes_db):
    viewer, user = staff_client("view_pushsettings")
    try:
        assert put(viewer, {"token": TOKEN, "mode": "plain"}).status_code == 403
        assert viewer.get(f"/platform/v1/tenants/{TENANT_A}/push").status_code == 404  # may read; none set yet
    finally:
        user.delete()
    assert put(Client(), {"token": TOKEN, "mode": "plain"}).status_code == 401
    assert not PushSettings.objects.filter(app_id=TENANT_A).exists()


# --- The admin ------------------------------------------------------------------------------------------------------


def test_the_admin_sets_push_settings_write_only_and_audited(admin_client, pushes_db):
    key = new_aes_key()
    audit = AuditSince()
    form = {"app_id": TENANT_A, "token": TOKEN, "aes_key": key, "mode": "safe", "format": "xml"}
    response = admin_client.post("/admin/pushes_control/pushsettings/add/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    row = settings_row()
    assert (row.token, row.aes_key, row.format) == (TOKEN, key, "xml")
    assert audit.one().door == "admin"
    page = admin_client.get(f"/admin/pushes_control/pushsettings/{row.pk}/change/").content.decode()
    assert TOKEN not in page and key not in page and row.token_encrypted not in page
    # Saved with empty secret fields: the stored ones stay.
    change = {"token": "", "aes_key": "", "mode": "safe", "format": "json"}
    assert admin_client.post(f"/admin/pushes_control/pushsettings/{row.pk}/change/", change).status_code == 302
    assert (settings_row().token, settings_row().aes_key, settings_row().format) == (TOKEN, key, "json")


def test_the_admin_refuses_a_bad_key_and_saves_nothing(admin_client, pushes_db):
    form = {"app_id": TENANT_A, "token": TOKEN, "aes_key": "short", "mode": "safe", "format": "xml"}
    response = admin_client.post("/admin/pushes_control/pushsettings/add/", form)
    assert response.status_code == 200
    assert "43 letters or digits" in response.content.decode()
    assert not PushSettings.objects.filter(app_id=TENANT_A).exists()


def test_the_admin_page_is_guarded_by_the_models_permissions(pushes_db):
    user = User.objects.create_user("push-no-perms", password="pw-for-tests", is_staff=True)
    try:
        client = Client()
        client.force_login(user)
        assert client.get("/admin/pushes_control/pushsettings/").status_code == 403
    finally:
        user.delete()


def test_rotate_secrets_key_moves_the_push_secrets_under_the_new_key(pushes_db, settings):
    from cryptography.fernet import Fernet

    key = new_aes_key()
    push_settings_set(app_id=TENANT_A, change=PushSettingsChange(token=TOKEN, aes_key=key, mode="safe"))
    old_token = settings_row().token_encrypted
    new_key = Fernet.generate_key().decode()
    settings.TENANT_SECRETS_KEYS = [new_key, *settings.TENANT_SECRETS_KEYS]
    out = StringIO()
    call_command("rotate_secrets_key", stdout=out)
    assert "push tokens, every tenant: 1 re-encrypted" in out.getvalue()
    row = settings_row()
    assert row.token_encrypted != old_token
    assert Fernet(new_key).decrypt(row.token_encrypted.encode()).decode() == TOKEN
    assert Fernet(new_key).decrypt(row.aes_key_encrypted.encode()).decode() == key


def test_the_console_shows_a_tenants_pushes_beside_it_without_secrets(admin_client, push_tenant):
    tenant = push_tenant(TENANT_A, data_format="xml")
    tenant.push({"FromUserName": "o-console", "MsgType": "event", "Event": "something_new"})
    from tenants.models import Tenant

    page = admin_client.get(f"/admin/tenants/tenant/{Tenant.objects.get(app_id=TENANT_A).pk}/pushes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "something_new" in text and "o-console" in text and "safe mode, xml" in text
    assert tenant.token not in text and tenant.aes_key not in text
