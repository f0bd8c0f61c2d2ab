"""Errors of orders, prepay and refunds, in the one JSON error shape (core.exceptions)."""

from core.exceptions import ApplicationError, ServiceUnavailable


class ItemNotFound(ApplicationError):
    code = "item_not_found"
    message = "This mini-program sells no item with this code."
    status = 404


class OrderNotFound(ApplicationError):
    code = "order_not_found"
    message = "No such order."
    status = 404


class OrderNotPayable(ApplicationError):
    code = "order_not_payable"
    message = "This order is not waiting for payment (it is paid, closed or refunded)."
    status = 409


class InvalidAmount(ApplicationError):
    code = "invalid_amount"
    message = "An amount is a whole number of fen, at least 1."
    status = 400


class PaymentsNotConfigured(ApplicationError):
    code = "payments_not_configured"
    message = "WeChat Pay is not set up for this mini-program."
    status = 409


class NotifyUrlNotConfigured(ApplicationError):
    code = "payments_not_configured"
    message = "PAY_NOTIFY_BASE_URL is not set: WeChat Pay would have nowhere to send the result."
    status = 503


class PayRefused(ApplicationError):
    """WeChat Pay refused the call; its own code is in `wechatpay_code`."""

    code = "wechatpay_refused"
    message = "WeChat Pay refused the request."
    status = 502


class PayNotAnswering(ServiceUnavailable):
    code = "wechatpay_unavailable"
    message = "WeChat Pay did not answer; retry shortly."


class OrderNotRefundable(ApplicationError):
    code = "order_not_refundable"
    message = "Only a paid order can be refunded."
    status = 409


class RefundTooLarge(ApplicationError):
    code = "refund_exceeds_paid"
    message = "The refunds of an order can never add up to more than was paid."
    status = 409
