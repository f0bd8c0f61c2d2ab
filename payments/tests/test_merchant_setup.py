"""Setting a tenant's merchant: the command, the platform API and the admin; every refusal changes nothing."""

import json
import logging
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from knox.models import AuthToken

from console.tests.audit import AuditSince
from payments.control.exceptions import MerchantRejected
from payments.control.models import PlatformCertificate, TenantMerchant
from payments.control.services import merchant_set
from payments.fake_server.testing import MCHIDS, merchant_configure, merchant_credentials
from payments.wechatpay import merchant_keys_for
from payments.wechatpay.keys import CERTIFICATE_MODE, PUBLIC_KEY_MODE
from tenants.secrets import secret_decrypt
from tests.helpers import TENANT_A, TENANT_B

MCHID = MCHIDS[TENANT_A]


@pytest.fixture
def registered(pay_server):
    """TENANT_A's merchant known to the fake (public-key mode), not yet set in Miniplex."""
    credentials = merchant_credentials(MCHID, mchid=MCHID)
    wechatpay = pay_server.control.register_merchant(
        MCHID, TENANT_A, credentials.public_key_pem, credentials.serial, credentials.apiv3_key
    )
    return credentials, wechatpay


def set_args(credentials, wechatpay, **changes):
    args = {
        "app_id": TENANT_A,
        "mchid": credentials.mchid,
        "serial": credentials.serial,
        "private_key_pem": credentials.private_key_pem,
        "apiv3_key": credentials.apiv3_key,
        "public_key_pem": wechatpay.get("public_key_pem"),
        "public_key_id": wechatpay.get("public_key_id"),
        "merchant_certificate_pem": credentials.certificate_pem,
    }
    return {**args, **changes}


def stored_row():
    return TenantMerchant.objects.filter(tenant__app_id=TENANT_A).values().first()


# --- the service: what it stores ----------------------------------------------------------------------------


def test_a_merchant_is_stored_with_its_secrets_encrypted_and_loads_as_keys(registered):
    credentials, wechatpay = registered
    change = merchant_set(**set_args(credentials, wechatpay))
    assert change.created and change.checked
    row = stored_row()
    assert row["mode"] == PUBLIC_KEY_MODE and row["public_key_id"] == wechatpay["public_key_id"]
    assert "PRIVATE KEY" not in row["private_key_encrypted"]
    assert credentials.apiv3_key not in row["apiv3_key_encrypted"]
    assert secret_decrypt(row["apiv3_key_encrypted"]) == credentials.apiv3_key
    keys = merchant_keys_for(TENANT_A)
    assert (keys.mchid, keys.serial, keys.apiv3_key) == (MCHID, credentials.serial, credentials.apiv3_key.encode())
    assert set(keys.verify_keys) == {wechatpay["public_key_id"]}
    assert "PRIVATE" not in repr(keys) and credentials.apiv3_key not in repr(keys)


def test_a_second_set_replaces_the_first_and_blank_secrets_keep_the_stored_ones(registered):
    credentials, wechatpay = registered
    merchant_set(**set_args(credentials, wechatpay))
    before = stored_row()
    change = merchant_set(**set_args(credentials, wechatpay, private_key_pem=None, apiv3_key=None))
    assert not change.created
    assert TenantMerchant.objects.count() == 1
    after = stored_row()
    assert secret_decrypt(after["private_key_encrypted"]) == secret_decrypt(before["private_key_encrypted"])


# --- refusals, each with nothing changed --------------------------------------------------------------------

REFUSALS = [
    ({"private_key_pem": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}, "private key"),
    ({"apiv3_key": "too-short"}, "32 bytes"),
    ({"apiv3_key": "x" * 33}, "32 bytes"),
    ({"serial": "ABCDEF0123456789"}, "does not match the merchant certificate"),
    ({"serial": "not-hex!"}, "hexadecimal"),
    ({"mchid": "19000abc"}, "digits"),
    ({"public_key_id": "KEY_1234"}, "PUB_KEY_ID_"),
    ({"public_key_id": None}, "go together"),
    ({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "public key was refused"),
]


@pytest.mark.parametrize(("change", "words"), REFUSALS)
def test_a_value_that_does_not_parse_or_fit_is_refused_and_nothing_changes(registered, change, words):
    credentials, wechatpay = registered
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(**set_args(credentials, wechatpay, **change))
    assert words in refused.value.message
    assert TenantMerchant.objects.count() == 0


def test_a_private_key_wechatpay_does_not_know_is_refused_after_asking_it(registered, pay_server):
    credentials, wechatpay = registered
    other = merchant_credentials("someone-else")
    # No certificate given: only WeChat Pay can tell the key is not the merchant's (401 SIGN_ERROR).
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(
            **set_args(credentials, wechatpay, private_key_pem=other.private_key_pem, merchant_certificate_pem=None)
        )
    assert "SIGN_ERROR" in refused.value.message and "do not belong together" in refused.value.message
    assert TenantMerchant.objects.count() == 0
    assert any(seen["path"].startswith("/v3/pay/transactions/out-trade-no/") for seen in pay_server.requests_seen())


def test_a_serial_wechatpay_does_not_know_is_refused(registered):
    credentials, wechatpay = registered
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(**set_args(credentials, wechatpay, serial="0123456789ABCDEF", merchant_certificate_pem=None))
    assert "SIGN_ERROR" in refused.value.message


def test_a_wechatpay_public_key_that_is_not_this_merchants_is_refused(registered):
    credentials, wechatpay = registered
    foreign = merchant_credentials("not-wechatpay").public_key_pem
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(**set_args(credentials, wechatpay, public_key_pem=foreign))
    assert "does not verify" in refused.value.message
    with pytest.raises(MerchantRejected):
        merchant_set(**set_args(credentials, wechatpay, public_key_id="PUB_KEY_ID_0000OTHER"))
    assert TenantMerchant.objects.count() == 0


def test_certificate_mode_proves_the_apiv3_key_by_decrypting_the_certificates(pay_server):
    credentials = merchant_credentials(MCHID, mchid=MCHID)
    pay_server.control.register_merchant(
        MCHID, TENANT_A, credentials.public_key_pem, credentials.serial, credentials.apiv3_key, mode=CERTIFICATE_MODE
    )
    args = set_args(credentials, {}, apiv3_key="w" * 32)
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(**args)
    assert "APIv3 key does not decrypt" in refused.value.message
    assert (TenantMerchant.objects.count(), PlatformCertificate.objects.count()) == (0, 0)
    change = merchant_set(**set_args(credentials, {}))
    assert change.merchant.mode == CERTIFICATE_MODE and change.certificates == 1
    [certificate] = PlatformCertificate.objects.filter(mchid=MCHID)
    assert set(merchant_keys_for(TENANT_A).verify_keys) == {certificate.serial}


def test_certificate_mode_for_a_merchant_without_certificates_says_to_use_the_public_key(registered):
    credentials, _ = registered
    with pytest.raises(MerchantRejected) as refused:
        merchant_set(**set_args(credentials, {}))
    assert "--public-key-file" in refused.value.message


def test_wechatpay_unreachable_is_503_and_nothing_changes(registered, settings):
    from payments.control.exceptions import MerchantCheckUnavailable
    from tests.helpers import free_port

    credentials, wechatpay = registered
    settings.WECHATPAY_API_BASE = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MerchantCheckUnavailable):
        merchant_set(**set_args(credentials, wechatpay))
    assert TenantMerchant.objects.count() == 0


def test_an_unknown_tenant_is_refused(tenant_db):
    from tenants.exceptions import TenantNotFound

    with pytest.raises(TenantNotFound):
        merchant_set(app_id="wx00000000000000f9", mchid=MCHID, serial="AB" * 8, private_key_pem="x", apiv3_key="y")


# --- the command --------------------------------------------------------------------------------------------


def files_of(tmp_path, credentials, wechatpay):
    (tmp_path / "key.pem").write_text(credentials.private_key_pem)
    (tmp_path / "pub.pem").write_text(wechatpay["public_key_pem"])
    (tmp_path / "cert.pem").write_text(credentials.certificate_pem)
    return tmp_path


def test_set_tenant_payment_stores_the_merchant_and_audits_it_without_secrets(registered, tmp_path, monkeypatch):
    credentials, wechatpay = registered
    files = files_of(tmp_path, credentials, wechatpay)
    monkeypatch.setenv("TEST_APIV3_KEY", credentials.apiv3_key)
    audit, out = AuditSince(), StringIO()
    call_command(
        "set_tenant_payment",
        TENANT_A,
        "--mchid",
        MCHID,
        "--serial",
        credentials.serial,
        "--private-key-file",
        str(files / "key.pem"),
        "--apiv3-key-env",
        "TEST_APIV3_KEY",
        "--public-key-file",
        str(files / "pub.pem"),
        "--public-key-id",
        wechatpay["public_key_id"],
        "--certificate-file",
        str(files / "cert.pem"),
        stdout=out,
    )
    assert "WeChat Pay merchant 1900000101 set, public_key mode, checked with WeChat Pay" in out.getvalue()
    entry = audit.one()
    assert (entry.action, entry.app_id, entry.door) == ("set_payment", TENANT_A, "command")
    assert entry.details["mchid"] == MCHID and entry.details["checked_with_wechatpay"] is True
    dumped = json.dumps(entry.details)
    assert credentials.apiv3_key not in dumped and "PRIVATE" not in dumped


def test_set_tenant_payment_refuses_with_the_reason_and_an_empty_variable(registered, tmp_path, monkeypatch):
    credentials, wechatpay = registered
    files = files_of(tmp_path, credentials, wechatpay)
    base = [
        "set_tenant_payment",
        TENANT_A,
        "--mchid",
        MCHID,
        "--serial",
        credentials.serial,
        "--private-key-file",
        str(files / "key.pem"),
        "--apiv3-key-env",
        "TEST_APIV3_KEY",
    ]
    monkeypatch.delenv("TEST_APIV3_KEY", raising=False)
    with pytest.raises(CommandError, match="TEST_APIV3_KEY is empty or not set"):
        call_command(*base)
    monkeypatch.setenv("TEST_APIV3_KEY", "short")
    audit = AuditSince()
    with pytest.raises(CommandError, match="payment_merchant_rejected: The APIv3 key has 32 bytes"):
        call_command(*base, "--public-key-file", str(files / "pub.pem"), "--public-key-id", wechatpay["public_key_id"])
    audit.none()
    assert TenantMerchant.objects.count() == 0


# --- the platform API ---------------------------------------------------------------------------------------


def staff_client(*codenames):
    user = User.objects.create_user(f"pay-staff-{len(codenames)}", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="payments_control", codename__in=codenames)
    )
    return user, {"Authorization": f"Token {AuthToken.objects.create(user=user)[1]}"}


def api_body(credentials, wechatpay, **changes):
    body = {
        "mchid": credentials.mchid,
        "serial": credentials.serial,
        "private_key": credentials.private_key_pem,
        "apiv3_key": credentials.apiv3_key,
        "public_key": wechatpay["public_key_pem"],
        "public_key_id": wechatpay["public_key_id"],
    }
    return {**body, **changes}


def test_put_payment_sets_the_merchant_and_answers_without_secrets(registered, caplog):
    credentials, wechatpay = registered
    user, headers = staff_client("change_tenantmerchant")
    try:
        audit = AuditSince()
        with caplog.at_level(logging.DEBUG):
            response = Client().put(
                f"/platform/v1/tenants/{TENANT_A}/payment",
                api_body(credentials, wechatpay),
                content_type="application/json",
                headers=headers,
            )
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["mchid"], body["mode"], body["has_private_key"], body["has_apiv3_key"]) == (
            MCHID,
            PUBLIC_KEY_MODE,
            True,
            True,
        )
        assert credentials.apiv3_key not in response.content.decode()
        assert "PRIVATE KEY" not in response.content.decode()
        assert credentials.apiv3_key not in caplog.text and "PRIVATE KEY" not in caplog.text
        entry = audit.one()
        assert (entry.action, entry.door, entry.actor) == ("set_payment", "api", user.username)
        shown = Client().get(f"/platform/v1/tenants/{TENANT_A}/payment", headers=headers)
        assert shown.status_code == 200 and shown.json()["public_key_id"] == wechatpay["public_key_id"]
    finally:
        user.delete()


def test_put_payment_refusals_are_json_400_and_change_nothing(registered):
    credentials, wechatpay = registered
    user, headers = staff_client("change_tenantmerchant")
    try:
        for change in ({"apiv3_key": "short"}, {"public_key_id": "NOPE"}, {"serial": "0123456789ABCDEF"}):
            response = Client().put(
                f"/platform/v1/tenants/{TENANT_A}/payment",
                api_body(credentials, wechatpay, **change),
                content_type="application/json",
                headers=headers,
            )
            assert response.status_code == 400, response.content
            assert response.json()["error"]["code"] == "payment_merchant_rejected"
            assert credentials.apiv3_key not in response.content.decode()
        missing = Client().put(
            f"/platform/v1/tenants/{TENANT_A}/payment",
            {"mchid": MCHID},
            content_type="application/json",
            headers=headers,
        )
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid"
        assert TenantMerchant.objects.count() == 0
        absent = Client().get(f"/platform/v1/tenants/{TENANT_A}/payment", headers=headers)
        assert absent.status_code == 409 and absent.json()["error"]["code"] == "payment_not_configured"
    finally:
        user.delete()


def test_put_payment_needs_the_change_permission(registered):
    credentials, wechatpay = registered
    user, headers = staff_client("view_tenantmerchant")
    try:
        response = Client().put(
            f"/platform/v1/tenants/{TENANT_A}/payment",
            api_body(credentials, wechatpay),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 403
        assert Client().get(f"/platform/v1/tenants/{TENANT_A}/payment", headers=headers).status_code == 409
        assert (
            Client()
            .put(
                f"/platform/v1/tenants/{TENANT_A}/payment",
                api_body(credentials, wechatpay),
                content_type="application/json",
            )
            .status_code
            == 401
        )
        assert TenantMerchant.objects.count() == 0
    finally:
        user.delete()


# --- the admin ----------------------------------------------------------------------------------------------


def test_the_admin_adds_a_merchant_through_the_service_and_never_shows_the_secrets(registered, admin_client):
    from tenants.models import Tenant

    credentials, wechatpay = registered
    audit = AuditSince()
    form = {
        "tenant_choice": Tenant.objects.get(app_id=TENANT_A).pk,
        "mchid": MCHID,
        "serial": credentials.serial,
        "private_key": credentials.private_key_pem,
        "apiv3_key": credentials.apiv3_key,
        "public_key_pem": wechatpay["public_key_pem"],
        "public_key_id": wechatpay["public_key_id"],
        "certificate": "",
    }
    bad = admin_client.post("/admin/payments_control/tenantmerchant/add/", {**form, "apiv3_key": "short"})
    assert bad.status_code == 200 and "32 bytes" in bad.content.decode()
    refused_page = bad.content.decode()
    assert 'value="short"' not in refused_page
    assert credentials.private_key_pem.splitlines()[1] not in refused_page  # the refused form echoes no key
    assert TenantMerchant.objects.count() == 0
    response = admin_client.post("/admin/payments_control/tenantmerchant/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    merchant = TenantMerchant.objects.get()
    assert audit.one().door == "admin"
    page = admin_client.get(f"/admin/payments_control/tenantmerchant/{merchant.pk}/change/").content.decode()
    assert credentials.apiv3_key not in page and "PRIVATE KEY" not in page and MCHID in page
    listing = admin_client.get("/admin/payments_control/tenantmerchant/").content.decode()
    assert credentials.apiv3_key not in listing and TENANT_A in listing
    # A change with the secrets left blank keeps them.
    change = {key: value for key, value in form.items() if key != "tenant_choice"}
    kept = admin_client.post(
        f"/admin/payments_control/tenantmerchant/{merchant.pk}/change/", {**change, "private_key": "", "apiv3_key": ""}
    )
    assert kept.status_code == 302
    assert secret_decrypt(TenantMerchant.objects.get().apiv3_key_encrypted) == credentials.apiv3_key


def test_the_admin_change_needs_the_change_permission(registered):
    credentials, wechatpay = registered
    merchant = merchant_set(**set_args(credentials, wechatpay)).merchant
    user = User.objects.create_user("pay-viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_tenantmerchant"))
    try:
        client = Client()
        client.force_login(user)
        url = f"/admin/payments_control/tenantmerchant/{merchant.pk}/change/"
        assert client.get(url).status_code == 200
        assert client.post(url, {"mchid": "1900000777", "serial": credentials.serial}).status_code == 403
        assert client.post("/admin/payments_control/tenantmerchant/add/", {}).status_code == 403
        assert TenantMerchant.objects.get().mchid == MCHID
    finally:
        user.delete()


def test_two_tenants_have_their_own_merchants(pay_server):
    a = merchant_configure(pay_server, TENANT_A)
    b = merchant_configure(pay_server, TENANT_B)
    assert merchant_keys_for(TENANT_A).mchid == a.mchid != merchant_keys_for(TENANT_B).mchid == b.mchid


def test_the_system_checks_warn_of_a_notify_base_or_api_base_that_is_not_https(settings):
    from payments.control.checks import wechatpay_urls_check

    settings.PAY_NOTIFY_BASE_URL, settings.WECHATPAY_API_BASE = (
        "https://api.example.com",
        "https://api.mch.weixin.qq.com",
    )
    assert wechatpay_urls_check() == []
    settings.PAY_NOTIFY_BASE_URL = "http://api.example.com"
    settings.WECHATPAY_API_BASE = "http://wechatpay.example.com"
    assert [warning.id for warning in wechatpay_urls_check()] == ["payments.W001", "payments.W002"]
    settings.PAY_NOTIFY_BASE_URL, settings.WECHATPAY_API_BASE = "http://127.0.0.1:8000", "http://127.0.0.1:8766"
    assert wechatpay_urls_check() == []
    settings.PAY_NOTIFY_BASE_URL = "https://api.example.com/?tenant=1"
    assert [warning.id for warning in wechatpay_urls_check()] == ["payments.W001"]
