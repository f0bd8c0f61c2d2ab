"""Platform certificates: downloaded once, stored for the fleet, refreshed by the periodic job; secrets rotated
with the others; no secret in a log line or a Sentry event."""

import importlib.util
import json
import logging
from collections.abc import Iterator
from io import StringIO
from types import ModuleType

import pytest
import sentry_sdk
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from payments.control.models import PlatformCertificate, TenantMerchant
from payments.control.services import platform_certificates_refresh_all
from payments.fake_server.testing import merchant_configure
from payments.wechatpay import NotificationRefused, PayClient, notification_open
from payments.wechatpay.keys import CERTIFICATE_MODE
from tests.e2e.sentry_stub import SentryStub, sentry_in_this_process
from tests.helpers import TENANT_A, TENANT_B

NOTIFY_URL = "https://miniplex.example.test/pay/v1/notify/wx00000000000000a1/transaction"


def another_process() -> ModuleType:
    """A second copy of the keys' registry, with a cache of its own: what another gunicorn worker holds."""
    import payments.wechatpay.registry as registry

    spec = importlib.util.spec_from_file_location("payments.wechatpay.registry_of_another_process", registry.__file__)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def certificate_downloads(pay_server) -> int:
    return sum(1 for seen in pay_server.requests_seen() if seen["path"] == "/v3/certificates")


def prepay(keys, out_trade_no="T20261201000101"):
    return PayClient(keys).jsapi_prepay(
        description="d", out_trade_no=out_trade_no, amount_total=100, openid="openid-c", notify_url=NOTIFY_URL
    )


def test_certificates_are_downloaded_once_and_two_processes_verify_with_the_one_stored_row(pay_server):
    from payments.wechatpay.registry import merchant_keys_for

    merchant = merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    assert certificate_downloads(pay_server) == 1
    [row] = PlatformCertificate.objects.filter(mchid=merchant.mchid)
    first, second = merchant_keys_for(TENANT_A), another_process().merchant_keys_for(TENANT_A)
    assert first is not second  # two caches ...
    assert set(first.verify_keys) == set(second.verify_keys) == {row.serial}  # ... one row
    prepay(first)
    notification = pay_server.control.pay("T20261201000101", send=False)
    for keys in (first, second):
        assert notification_open(keys, notification["headers"], notification["body"].encode())["trade_state"]
    assert certificate_downloads(pay_server) == 1  # neither process downloaded anything


def test_the_periodic_job_is_registered_for_the_fleet():
    from tenants.jobs.periodic import periodic_jobs_registered

    [job] = [job for job in periodic_jobs_registered() if job.name == "wechatpay_certificates"]
    assert job.func == "payments.control.jobs.wechatpay_certificates_refresh"


def test_a_new_certificate_reaches_every_process_through_the_job_and_the_database(pay_server, settings):
    from payments.control.jobs import wechatpay_certificates_refresh
    from payments.wechatpay.registry import merchant_keys_for

    settings.WECHATPAY_KEYS_RELOAD_MIN_SECONDS = 0  # the re-read after the unknown serial is not held back
    merchant = merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    stale_here, stale_there = merchant_keys_for(TENANT_A), another_process()
    stale_there.merchant_keys_for(TENANT_A)
    prepay(stale_here)
    pay_server.control.rotate(merchant.mchid)  # WeChat Pay signs with a new platform certificate from now on
    notification = pay_server.control.pay("T20261201000101", send=False)
    body = notification["body"].encode()
    with pytest.raises(NotificationRefused) as refused:
        notification_open(stale_here, notification["headers"], body)
    assert refused.value.status == 401  # not in the database yet: re-reading it finds nothing new

    assert wechatpay_certificates_refresh() == {merchant.mchid: 1}
    assert PlatformCertificate.objects.filter(mchid=merchant.mchid).count() == 2
    # Both processes still hold copies without it: the unknown serial makes each read the database once.
    assert notification_open(stale_here, notification["headers"], body)["out_trade_no"] == "T20261201000101"
    there = stale_there.merchant_keys_for(TENANT_A)
    assert notification["headers"]["Wechatpay-Serial"] not in there.verify_keys
    assert notification_open(there, notification["headers"], body)["out_trade_no"] == "T20261201000101"
    assert wechatpay_certificates_refresh() == {merchant.mchid: 0}  # nothing new the second time


def test_one_merchant_failing_does_not_stop_the_others_refresh(pay_server, caplog):
    a = merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    b = merchant_configure(pay_server, TENANT_B, mode=CERTIFICATE_MODE)
    pay_server.control.rotate(b.mchid)
    pay_server.control.fail_next("/v3/certificates", status=500)  # the first merchant's call (ordered by AppID)
    with caplog.at_level(logging.WARNING):
        assert platform_certificates_refresh_all() == {a.mchid: -1, b.mchid: 1}
    assert f"mchid {a.mchid} not refreshed" in caplog.text


def test_public_key_merchants_are_not_touched_by_the_job(pay_server):
    merchant_configure(pay_server, TENANT_A)
    assert platform_certificates_refresh_all() == {}
    assert certificate_downloads(pay_server) == 0


def test_rotate_secrets_key_reencrypts_each_merchants_secrets_once(pay_server, settings):
    from cryptography.fernet import Fernet

    from payments.wechatpay.registry import merchant_keys_for, merchant_keys_forget

    merchant_configure(pay_server, TENANT_A)
    merchant_configure(pay_server, TENANT_B, mode=CERTIFICATE_MODE)
    before = {row.pk: row.private_key_encrypted for row in TenantMerchant.objects.all()}
    new_key = Fernet.generate_key().decode()
    settings.TENANT_SECRETS_KEYS = [new_key, *settings.TENANT_SECRETS_KEYS]
    out = StringIO()
    call_command("rotate_secrets_key", stdout=out)
    assert "payment private keys, every tenant: 2 re-encrypted" in out.getvalue()
    assert "payment APIv3 keys, every tenant: 2 re-encrypted" in out.getvalue()
    settings.TENANT_SECRETS_KEYS = [new_key]  # the old key gone: every value still reads
    merchant_keys_forget()
    for row in TenantMerchant.objects.all():
        assert row.private_key_encrypted != before[row.pk]
        Fernet(new_key).decrypt(row.apiv3_key_encrypted.encode())
    assert merchant_keys_for(TENANT_B).mode == CERTIFICATE_MODE


# --- no secret in Sentry or the logs ------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


@pytest.fixture
def sentry() -> Iterator[SentryStub]:
    with sentry_in_this_process() as stub:
        yield stub


def test_a_failed_put_payment_sends_neither_key_to_sentry(pay_server, sentry, monkeypatch, caplog):
    from payments.control import services
    from payments.fake_server.testing import merchant_credentials

    credentials = merchant_credentials("1900000101", mchid="1900000101")
    configured = pay_server.control.register_merchant(
        "1900000101", TENANT_A, credentials.public_key_pem, credentials.serial, credentials.apiv3_key
    )

    def broken(plain: str) -> str:
        raise Boom("encryption broke")

    admin = User.objects.create_superuser("pay-sentry-admin", "a@example.com", "pw-for-tests")
    try:
        client = Client(raise_request_exception=False)
        client.force_login(admin)
        monkeypatch.setattr(services, "secret_encrypt", broken)
        body = {
            "mchid": "1900000101",
            "serial": credentials.serial,
            "private_key": credentials.private_key_pem,
            "apiv3_key": credentials.apiv3_key,
            "public_key": configured["public_key_pem"],
            "public_key_id": configured["public_key_id"],
        }
        with caplog.at_level(logging.DEBUG):
            response = client.put(f"/platform/v1/tenants/{TENANT_A}/payment", body, content_type="application/json")
        assert response.status_code == 500
        sentry_sdk.get_client().flush(timeout=5)
        events = [json.dumps(event) for event in sentry.snapshot() if "exception" in event]
        assert events, "the failure reached Sentry"
        key_body = credentials.private_key_pem.splitlines()[1]
        for event in events:
            assert credentials.apiv3_key not in event and key_body not in event
            assert '"data"' not in json.loads(event).get("request", {})
        assert credentials.apiv3_key not in caplog.text and key_body not in caplog.text
        assert TenantMerchant.objects.count() == 0
    finally:
        admin.delete()


def test_a_merchant_moved_to_the_public_key_verifies_both_kinds_of_serial_during_the_migration(pay_server):
    from payments.wechatpay.registry import merchant_keys_for

    merchant = merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    [certificate] = PlatformCertificate.objects.filter(mchid=merchant.mchid)
    moved = merchant_configure(pay_server, TENANT_A)  # the same mchid, now in public-key mode
    keys = merchant_keys_for(TENANT_A)
    assert set(keys.verify_keys) == {certificate.serial, moved.wechatpay["public_key_id"]}
    prepay(keys)
    by_key = pay_server.control.notification("T20261201000101")
    by_certificate = pay_server.control.notification("T20261201000101", serial=certificate.serial)
    assert by_key["headers"]["Wechatpay-Serial"].startswith("PUB_KEY_ID_")
    for built in (by_key, by_certificate):
        assert notification_open(keys, built["headers"], built["body"].encode())["out_trade_no"]


def test_an_expired_certificate_verifies_nothing_and_goes_at_the_next_refresh(pay_server):
    import datetime

    from payments.control.services import platform_certificates_refresh
    from payments.wechatpay.registry import merchant_keys_for, merchant_keys_forget

    merchant = merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    PlatformCertificate.objects.create(
        mchid=merchant.mchid, serial="0EXPIRED", certificate_pem="-", effective_time=past, expire_time=past
    )
    merchant_keys_forget()
    assert "0EXPIRED" not in merchant_keys_for(TENANT_A).verify_keys
    platform_certificates_refresh(merchant=TenantMerchant.objects.get())
    assert not PlatformCertificate.objects.filter(serial="0EXPIRED").exists()


def test_made_up_serials_make_a_process_read_the_merchant_at_most_once_per_interval(pay_server, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.wechatpay.registry import merchant_keys_for

    settings.WECHATPAY_KEYS_RELOAD_MIN_SECONDS = 60
    merchant_configure(pay_server, TENANT_A, mode=CERTIFICATE_MODE)
    keys = merchant_keys_for(TENANT_A)
    prepay(keys)
    with CaptureQueriesContext(connection) as queries:
        for n in range(20):
            built = pay_server.control.notification("T20261201000101", serial=f"0FAKE{n:04d}")
            with pytest.raises(NotificationRefused):
                notification_open(keys, built["headers"], built["body"].encode())
    assert len(queries) == 0  # read a moment ago: the made-up serials change nothing
    settings.WECHATPAY_KEYS_RELOAD_MIN_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(NotificationRefused):
            notification_open(keys, built["headers"], built["body"].encode())
    assert len(queries) >= 1
