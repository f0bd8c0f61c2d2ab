"""Every refusal of a notification, in the issue's order, answers {"code": "FAIL"} and changes nothing; a
repeat is 204 and changes nothing; 20 simultaneous copies make one paid transition and one job."""

import pytest
from django.test import Client

from payments.services import PAYMENT_SUCCEEDED_JOB
from payments.tests.helpers import (  # noqa: F401
    jobs_named,
    notify_live,
    order_in,
    orders_cleaned,
    post_notification,
    prepaid,
)
from tests.helpers import TENANT_A, TENANT_B, TENANT_C

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned")


def assert_refused_and_nothing_changed(response, status: int, order: dict, words: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == "FAIL" and words in body["message"], body
    stored = order_in(TENANT_A, order["id"])
    assert (stored.status, stored.transaction_id, stored.paid_at) == ("pending", "", None)
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 0


def test_a_notification_for_an_unknown_malformed_or_unconfigured_tenant_is_refused(merchant_a, pay_server):
    _client, order = prepaid(TENANT_A)
    built = pay_server.control.notification(order["out_trade_no"])
    for app_id, words in (("wx0000000000000999", "unknown"), ("not-an-app-id", "unknown"), (TENANT_C, "configured")):
        assert_refused_and_nothing_changed(post_notification(app_id, built), 404, order, words)


def test_a_suspended_tenants_notification_waits_for_it_503(merchant_a, pay_server):
    from tenants.services import tenant_suspend

    _client, order = prepaid(TENANT_A)
    tenant_suspend(app_id=TENANT_A)
    built = pay_server.control.notification(order["out_trade_no"])
    assert_refused_and_nothing_changed(post_notification(TENANT_A, built), 503, order, "unavailable")


@pytest.mark.parametrize(
    ("spoilt", "status", "words"),
    [
        ({"signtest": True}, 400, "SIGNTEST"),
        ({"timestamp_offset": 301}, 400, "5 minutes"),
        ({"timestamp_offset": -400}, 400, "5 minutes"),
        ({"tamper": "signature"}, 401, "signature"),
        ({"tamper": "body"}, 401, "signature"),
        ({"serial": "PUB_KEY_ID_0000000000000000000000000000"}, 401, "serial"),
        ({"tamper": "ciphertext"}, 400, "decrypt"),
        ({"resource_appid": "wx00000000000000ff"}, 400, "appid"),
        ({"resource_mchid": "1999999999"}, 400, "mchid"),
        ({"amount": 1}, 400, "amount"),
        ({"currency": "USD"}, 400, "currency"),
    ],
)
def test_each_refusal_of_a_notification_changes_nothing(merchant_a, pay_server, spoilt, status, words):
    _client, order = prepaid(TENANT_A)
    built = pay_server.control.notification(order["out_trade_no"], **spoilt)
    assert_refused_and_nothing_changed(post_notification(TENANT_A, built), status, order, words)


def test_an_out_trade_no_this_tenant_does_not_have_is_refused(merchant_a, pay_server):
    _client, order = prepaid(TENANT_A)
    built = pay_server.control.notification("0" * 32, mchid=merchant_a.mchid, appid=TENANT_A, amount=1800)
    assert_refused_and_nothing_changed(post_notification(TENANT_A, built), 404, order, "out_trade_no")


def test_a_genuine_notification_of_tenant_a_at_tenant_bs_url_is_refused(merchant_a, merchant_b, pay_server):
    _client, order = prepaid(TENANT_A)
    built = pay_server.control.notification(order["out_trade_no"])
    # Signed for A's merchant: B's keys do not verify it, and B's database has no such order anyway.
    response = post_notification(TENANT_B, built)
    assert_refused_and_nothing_changed(response, 401, order, "serial")
    assert post_notification(TENANT_A, built).status_code == 204
    assert order_in(TENANT_A, order["id"]).status == "paid"


def test_a_notification_is_post_only_and_a_repeat_is_204_with_no_change(merchant_a, pay_server):
    _client, order = prepaid(TENANT_A)
    assert Client().get(f"/pay/v1/notify/{TENANT_A}/transaction").status_code == 405
    built = pay_server.control.pay(order["out_trade_no"], send=False)
    assert post_notification(TENANT_A, built).status_code == 204
    paid = order_in(TENANT_A, order["id"])
    assert post_notification(TENANT_A, built).status_code == 204
    again = order_in(TENANT_A, order["id"])
    assert (again.status, again.transaction_id, again.paid_at, again.updated_at) == (
        "paid",
        paid.transaction_id,
        paid.paid_at,
        paid.updated_at,
    )
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("notify_live")
def test_twenty_simultaneous_copies_make_one_paid_transition_and_one_job(merchant_a, pay_server):
    _client, order = prepaid(TENANT_A)
    sent = pay_server.control.pay(order["out_trade_no"], duplicates=19)["sent"]
    assert [delivery["status"] for delivery in sent] == [204] * 20
    assert order_in(TENANT_A, order["id"]).status == "paid"
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 1


def test_made_up_app_ids_in_the_path_spend_the_addresss_anonymous_budget(settings):
    from tenants import cache

    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "3/min"}
    cache.clear_local()
    client = Client(REMOTE_ADDR="198.51.100.70")
    answers = [
        client.post(f"/pay/v1/notify/wx00000000000f{index:04x}/transaction", "{}", content_type="application/json")
        for index in range(5)
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 429, 429]
    assert answers[-1].json()["code"] == "FAIL"
