"""WeChat Pay v3 for many merchants: the protocol (signing, verifying, decrypting) and the merchant's calls.

The public face, shared with the orders app (payments): see docs/payments-merchants.md.
"""

from payments.wechatpay.client import PayClient
from payments.wechatpay.errors import MerchantNotConfigured, NotificationRefused, PayError, PayUnavailable
from payments.wechatpay.keys import CERTIFICATE_MODE, PUBLIC_KEY_MODE, MerchantKeys
from payments.wechatpay.notifications import notification_open
from payments.wechatpay.registry import merchant_keys_for, merchant_keys_forget

__all__ = [
    "CERTIFICATE_MODE",
    "PUBLIC_KEY_MODE",
    "MerchantKeys",
    "MerchantNotConfigured",
    "NotificationRefused",
    "PayClient",
    "PayError",
    "PayUnavailable",
    "merchant_keys_for",
    "merchant_keys_forget",
    "notification_open",
]
