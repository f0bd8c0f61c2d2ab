"""Reconciliation: ask WeChat Pay about what has waited too long for its notification, and act on the answer.

For one tenant: each pending order older than PAY_RECONCILE_AFTER_MINUTES is queried by out_trade_no; paid at
WeChat -> marked paid here (a lost notification, through the same order_mark_paid as a notification); expired and
not paid -> closed at WeChat (/close) and here; anything that does not match our record (amount, appid, mchid)
is reported and left alone for a person. Refunds still processing are queried too. The periodic platform job
touches only the tenants payments.pending names as due, never every database.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.tenant_context import activate_tenant, require_current_tenant
from payments import conf
from payments.exceptions import PayNotAnswering, PayRefused
from payments.models import Order, Refund
from payments.pending import pending_remark, pending_tenants_due, pending_unmark
from payments.refunds import refund_reconcile, refunds_processing
from payments.services import order_mark_closed, order_mark_paid, pay_call
from payments.wechatpay import MerchantKeys, PayClient, merchant_keys_for
from tenants.exceptions import TenantNotFound, TenantSuspended
from tenants.selectors import tenant_resolve

logger = logging.getLogger(__name__)

# WeChat's trade_state values that mean "not paid, and it will not be by this order": closable once expired.
UNPAID_STATES = {"NOTPAY", "CLOSED", "REVOKED", "PAYERROR"}
STILL_OPEN_STATES = {"USERPAYING", "ACCEPT"}  # the user is paying (a password, a bank): asked again next time


@dataclass
class Report:
    app_id: str
    checked: int = 0
    paid: int = 0
    closed: int = 0
    refunds_settled: int = 0
    still_pending: int = 0
    mismatches: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"{self.app_id}: {self.checked} checked, {self.paid} paid, {self.closed} closed, "
            f"{self.refunds_settled} refunds settled, {self.still_pending} still pending"
        )
        return text + "".join(f"\n  mismatch: {mismatch}" for mismatch in self.mismatches)


def reconcile_tenant(*, older_than: timedelta | None = None) -> Report:
    """The active tenant's reconciliation; its pending mark is renewed from what is still pending afterwards."""
    tenant = require_current_tenant()
    bound = timezone.now() - (older_than if older_than is not None else _default_bound())
    report = Report(app_id=tenant.app_id)
    # Unmark first, look afterwards (payments.pending): an order committed meanwhile marks the tenant again.
    pending_unmark(app_id=tenant.app_id)
    try:
        keys = merchant_keys_for(tenant.app_id)
        client = PayClient(keys)
        due = Order.objects.filter(status=Order.Status.PENDING, created_at__lte=bound)
        for order in due.order_by("id")[: conf.get_reconcile_batch()]:
            report.checked += 1
            _reconcile_order(client, keys, order, report)
        for refund in refunds_processing(older_than_seconds=(timezone.now() - bound).total_seconds()):
            _reconcile_refund(refund, report)
    finally:
        _remark(tenant.app_id)
    report.still_pending = Order.objects.filter(status=Order.Status.PENDING).count()
    logger.info("payments reconciliation: %s", report.line().replace("\n", ";"))
    return report


def _default_bound() -> timedelta:
    return timedelta(minutes=conf.get_reconcile_after_minutes())


def _reconcile_order(client: PayClient, keys: MerchantKeys, order: Order, report: Report) -> None:
    if not order.prepay_id:
        # Never prepaid: nobody could pay it and WeChat has nothing to say; it is closed here once it expires.
        if order.expires_at <= timezone.now():
            _close(client, order, answered={}, report=report)
        return
    try:
        answer = pay_call(client.query_by_out_trade_no, order.out_trade_no)
    except PayRefused as error:
        if error.extra.get("wechatpay_code") == "ORDER_NOT_EXIST":
            answer = {"trade_state": "NOTPAY"}  # never prepaid: WeChat has nothing to close
        else:
            report.mismatches.append(f"order {order.pk}: {error.message}")
            return
    except PayNotAnswering:
        report.mismatches.append(f"order {order.pk}: WeChat Pay did not answer; asked again next time")
        return
    state = str(answer.get("trade_state", ""))
    if state == "SUCCESS":
        _mark_paid_if_matching(keys, order, answer, report)
    elif state in UNPAID_STATES:
        if order.expires_at <= timezone.now():
            _close(client, order, answered=answer, report=report)
    elif state not in STILL_OPEN_STATES:
        # REFUND for an order we never saw paid, or a state we do not know: a person looks at it.
        report.mismatches.append(f"order {order.pk}: pending here, {state or 'no trade_state'} at WeChat")


def _mark_paid_if_matching(keys: MerchantKeys, order: Order, answer: dict, report: Report) -> None:
    amount = answer.get("amount") if isinstance(answer.get("amount"), dict) else {}
    differences = [
        name
        for name, ours, theirs in (
            ("appid", keys.app_id, answer.get("appid")),
            ("mchid", keys.mchid, answer.get("mchid")),
            ("amount", order.amount, (amount or {}).get("total")),
        )
        if theirs != ours
    ]
    if differences:
        report.mismatches.append(f"order {order.pk}: paid at WeChat, but its {', '.join(differences)} differ")
        return
    success_time = answer.get("success_time")
    paid_at = parse_datetime(success_time) if isinstance(success_time, str) else None
    if order_mark_paid(order_id=order.pk, transaction_id=str(answer.get("transaction_id", "")), paid_at=paid_at):
        report.paid += 1
        logger.warning("payments reconciliation: order %s was paid and its notification never came", order.pk)


def _close(client: PayClient, order: Order, *, answered: dict, report: Report) -> None:
    if order.prepay_id and answered.get("trade_state") != "CLOSED":
        try:
            pay_call(client.close, order.out_trade_no)
        except (PayRefused, PayNotAnswering) as error:
            report.mismatches.append(f"order {order.pk}: could not close it at WeChat: {error.message}")
            return
    if order_mark_closed(order_id=order.pk):
        report.closed += 1


def _reconcile_refund(refund: Refund, report: Report) -> None:
    try:
        if refund_reconcile(refund=refund):
            report.refunds_settled += 1
    except (PayRefused, PayNotAnswering) as error:
        report.mismatches.append(f"refund {refund.pk} of order {refund.order_id}: {error.message}")


def _remark(app_id: str) -> None:
    oldest = [
        Order.objects.filter(status=Order.Status.PENDING).aggregate(at=Min("created_at"))["at"],
        Refund.objects.filter(status=Refund.Status.PROCESSING).aggregate(at=Min("created_at"))["at"],
    ]
    since = min((at for at in oldest if at is not None), default=None)
    if since is not None:
        pending_remark(app_id=app_id, since=since)


def reconcile_app_ids(app_ids: list[str], *, older_than: timedelta | None = None) -> list[Report]:
    """Each named tenant in turn, with its tenant active; a tenant gone or suspended is skipped and unmarked."""
    reports = []
    for app_id in app_ids:
        try:
            tenant = tenant_resolve(app_id=app_id)
        except (TenantNotFound, TenantSuspended) as error:
            logger.warning("payments reconciliation: %s skipped: %s", app_id, error.message)
            if isinstance(error, TenantNotFound):
                pending_unmark(app_id=app_id)
            continue
        with activate_tenant(tenant):
            try:
                reports.append(reconcile_tenant(older_than=older_than))
            except Exception:
                # One tenant's trouble (its merchant gone, its database down) must not stop the others'.
                logger.exception("payments reconciliation of %s failed", app_id)
    return reports


def reconcile_due() -> list[str]:
    """The periodic platform job: the tenants with something pending past the bound, and only those."""
    due = pending_tenants_due(older_than_seconds=_default_bound().total_seconds())
    return [report.line() for report in reconcile_app_ids(due)]
