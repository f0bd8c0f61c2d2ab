"""Errors of setting up a tenant's merchant."""

from core.exceptions import ApplicationError


class MerchantRejected(ApplicationError):
    """The merchant's settings do not hold together, or WeChat Pay refused them: the message says what to fix."""

    code = "payment_merchant_rejected"
    message = "The WeChat Pay merchant settings were refused."
    status = 400


class MerchantCheckUnavailable(ApplicationError):
    """WeChat Pay could not be asked whether the settings work (nothing was stored)."""

    code = "payment_check_unavailable"
    message = "WeChat Pay could not be reached to check the merchant settings; nothing was changed."
    status = 503
