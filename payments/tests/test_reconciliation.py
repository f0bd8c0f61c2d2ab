"""Reconciliation: a lost notification is paid from WeChat's word, an expired order is closed at WeChat and
here, a mismatch is reported and left alone, and only tenants marked as having something pending are touched."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.tenant_context import activate_tenant
from payments import reconciliation
from payments.models import Order
from payments.pending import pending_tenants_all, pending_tenants_due
from payments.services import PAYMENT_SUCCEEDED_JOB
from payments.tests.helpers import (  # noqa: F401
    context_of,
    jobs_named,
    order_in,
    orders_cleaned,
    prepaid,
    shop,
)
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned")


def backdate(app_id: str, order_id: int, *, minutes: int, expired: bool = False) -> None:
    """As if the order was made `minutes` ago (and, if expired, its time to pay is over)."""
    past = timezone.now() - timedelta(minutes=minutes)
    changes = {"created_at": past, **({"expires_at": past + timedelta(seconds=1)} if expired else {})}
    with activate_tenant(context_of(app_id)):
        Order.objects.filter(pk=order_id).update(**changes)


def test_a_lost_notification_is_paid_by_reconciliation_with_its_one_job(merchant_a, pay_server, capsys):
    _client, order = prepaid(TENANT_A)
    pay_server.control.pay(order["out_trade_no"], send=False)  # paid at WeChat; the notification never arrives
    backdate(TENANT_A, order["id"], minutes=30)
    call_command("reconcile_payments", TENANT_A)
    assert f"{TENANT_A}: 1 checked, 1 paid, 0 closed" in capsys.readouterr().out
    paid = order_in(TENANT_A, order["id"])
    [at_wechat] = pay_server.control.orders(merchant_a.mchid)
    assert (paid.status, paid.transaction_id) == ("paid", at_wechat["transaction_id"])
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 1
    assert pending_tenants_all() == []  # nothing pending any more: the tenant is no longer marked


def test_an_expired_unpaid_order_is_closed_at_wechat_and_here(merchant_a, pay_server):
    _client, order = prepaid(TENANT_A)
    backdate(TENANT_A, order["id"], minutes=60, expired=True)
    [report] = reconciliation.reconcile_app_ids([TENANT_A])
    assert (report.checked, report.paid, report.closed, report.mismatches) == (1, 0, 1, [])
    assert order_in(TENANT_A, order["id"]).status == "closed"
    assert pay_server.control.orders(merchant_a.mchid)[0]["trade_state"] == "CLOSED"


def test_an_expired_order_never_prepaid_is_closed_here_without_asking_wechat_to_close(merchant_a, pay_server):
    _client, order = shop(TENANT_A)
    backdate(TENANT_A, order["id"], minutes=60, expired=True)
    [report] = reconciliation.reconcile_app_ids([TENANT_A])
    assert (report.checked, report.closed, report.mismatches) == (1, 1, [])
    assert order_in(TENANT_A, order["id"]).status == "closed"
    assert not [seen for seen in pay_server.control.requests_seen() if seen["path"].endswith("/close")]


def test_a_young_or_not_yet_expired_order_is_left_pending(merchant_a, pay_server):
    _client, young = prepaid(TENANT_A)
    _client, unexpired = prepaid(TENANT_A)
    backdate(TENANT_A, unexpired["id"], minutes=20)
    [report] = reconciliation.reconcile_app_ids([TENANT_A])
    assert (report.checked, report.paid, report.closed, report.still_pending) == (1, 0, 0, 2)
    assert {order_in(TENANT_A, young["id"]).status, order_in(TENANT_A, unexpired["id"]).status} == {"pending"}
    assert pending_tenants_all() == [TENANT_A]  # still marked, with its oldest pending order's time


def test_what_wechat_says_differently_is_reported_and_left_alone(merchant_a, pay_server, monkeypatch):
    _client, order = prepaid(TENANT_A)
    backdate(TENANT_A, order["id"], minutes=30)
    answer = {"trade_state": "SUCCESS", "appid": TENANT_A, "mchid": merchant_a.mchid, "amount": {"total": 1}}
    monkeypatch.setattr("payments.wechatpay.PayClient.query_by_out_trade_no", lambda self, number: answer)
    [report] = reconciliation.reconcile_app_ids([TENANT_A])
    assert report.mismatches == [f"order {order['id']}: paid at WeChat, but its amount differ"]
    assert order_in(TENANT_A, order["id"]).status == "pending"
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 0


def test_the_periodic_job_touches_only_tenants_with_orders_pending_past_the_bound(
    merchant_a, merchant_b, pay_server, monkeypatch
):
    _client, old = prepaid(TENANT_A)
    backdate(TENANT_A, old["id"], minutes=30)
    # The mark is the order's creation time, set when it committed; move it back with the order.
    from payments.pending import pending_remark

    pending_remark(app_id=TENANT_A, since=timezone.now() - timedelta(minutes=30))
    shop(TENANT_B)  # B's order is young: B is marked, not due
    assert sorted(pending_tenants_all()) == [TENANT_A, TENANT_B]
    assert pending_tenants_due(older_than_seconds=600) == [TENANT_A]
    touched = []
    real = reconciliation.reconcile_tenant

    def spying(**kwargs: object) -> reconciliation.Report:
        touched.append(context())
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reconciliation, "reconcile_tenant", spying)
    lines = reconciliation.reconcile_due()
    assert touched == [TENANT_A]
    assert lines == [f"{TENANT_A}: 1 checked, 0 paid, 0 closed, 0 refunds settled, 1 still pending"]


def context() -> str:
    from core.tenant_context import require_current_tenant

    return require_current_tenant().app_id


@pytest.mark.usefixtures("queue_name")
def test_the_periodic_job_is_enqueued_once_per_period_and_runs_as_a_platform_job(merchant_a, pay_server):
    from tenants.jobs.periodic import periodic_enqueue_due, periodic_jobs_registered
    from tests.workers import jobs_queue

    [job] = [job for job in periodic_jobs_registered() if job.name == "payments-reconcile"]
    assert job.func == "payments.reconciliation.reconcile_due" and job.every_seconds == 300
    _client, order = prepaid(TENANT_A)
    pay_server.control.pay(order["out_trade_no"], send=False)
    backdate(TENANT_A, order["id"], minutes=30)
    from payments.pending import pending_remark

    pending_remark(app_id=TENANT_A, since=timezone.now() - timedelta(minutes=30))
    assert "payments-reconcile" in periodic_enqueue_due()
    assert "payments-reconcile" not in periodic_enqueue_due()  # the period is claimed: once for the fleet
    [queued] = [queued for queued in jobs_queue().jobs if queued.func_name == job.func]
    # (Sentry's RQ integration adds its trace headers when an earlier test of the process started Sentry.)
    assert {key: queued.meta.get(key) for key in ("app_id", "platform")} == {"app_id": None, "platform": True}
    assert queued.perform() == [f"{TENANT_A}: 1 checked, 1 paid, 0 closed, 0 refunds settled, 0 still pending"]
    assert order_in(TENANT_A, order["id"]).status == "paid"


def test_a_refund_wechat_took_without_answering_is_settled_by_reconciliation(merchant_a, pay_server, settings):
    from django.contrib.auth.models import Permission, User
    from django.test import Client
    from knox.models import AuthToken

    from payments.models import Refund
    from payments.tests.helpers import post_notification
    from tests.workers import wait_for

    _client, order = prepaid(TENANT_A)
    assert post_notification(TENANT_A, pay_server.control.pay(order["out_trade_no"], send=False)).status_code == 204
    staff = User.objects.create_user("refund-reconcile", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="refund_order"))
    settings.WECHATPAY_TIMEOUT_SECONDS = 0.3
    pay_server.control.set_delay("/v3/refund/domestic/refunds", 0.6)  # WeChat takes it, its answer comes too late
    answer = Client().post(
        f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}/refund",
        {"amount": 700},
        content_type="application/json",
        headers={"Authorization": f"Token {AuthToken.objects.create(user=staff)[1]}"},
    )
    staff.delete()
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "wechatpay_unavailable")
    wait_for(lambda: len(pay_server.control.refunds(merchant_a.mchid)) == 1, 5, "the fake never took the refund")
    settings.WECHATPAY_TIMEOUT_SECONDS = 5.0
    with activate_tenant(context_of(TENANT_A)):
        refund = Refund.objects.get()
        assert refund.status == "processing"
        Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    pay_server.control.refund_result(refund.out_refund_no, send=False)  # WeChat paid it back; no notification
    [report] = reconciliation.reconcile_app_ids([TENANT_A])
    assert (report.refunds_settled, report.mismatches) == (1, [])
    with activate_tenant(context_of(TENANT_A)):
        assert Refund.objects.get().status == "success"
    assert order_in(TENANT_A, order["id"]).status == "paid"


def test_a_state_wechat_has_that_we_do_not_expect_is_reported(merchant_a, pay_server, monkeypatch):
    _client, order = prepaid(TENANT_A)
    backdate(TENANT_A, order["id"], minutes=30)
    answers = iter([{"trade_state": "USERPAYING"}, {"trade_state": "REFUND"}])
    monkeypatch.setattr("payments.wechatpay.PayClient.query_by_out_trade_no", lambda self, number: next(answers))
    [paying] = reconciliation.reconcile_app_ids([TENANT_A])
    [refunded] = reconciliation.reconcile_app_ids([TENANT_A])
    assert (paying.mismatches, refunded.mismatches) == ([], [f"order {order['id']}: pending here, REFUND at WeChat"])
    assert order_in(TENANT_A, order["id"]).status == "pending"
