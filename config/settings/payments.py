"""Settings of payments (imported at the end of config.settings.base)."""

from config.env import env

# WeChat Pay's API (the fake's, payments/fake_server, in tests and `./dev serve`).
WECHATPAY_API_BASE = env("WECHATPAY_API_BASE", default="https://api.mch.weixin.qq.com")
WECHATPAY_TIMEOUT_SECONDS = env.float("WECHATPAY_TIMEOUT_SECONDS", default=5.0)
# The public HTTPS base of the notify URLs WeChat Pay calls (PAY_NOTIFY_BASE_URL + /pay/v1/notify/<app_id>/...);
# empty: prepay is refused with a clear error, since WeChat could not tell us of a payment.
PAY_NOTIFY_BASE_URL = env("PAY_NOTIFY_BASE_URL", default="")
# A notification (or an API answer) signed more than this far from our clock is refused.
WECHATPAY_NOTIFICATION_WINDOW_SECONDS = env.int("WECHATPAY_NOTIFICATION_WINDOW_SECONDS", default=300)
# Platform certificates (certificate-mode merchants): how often the periodic job downloads them for the fleet,
# and how long a process keeps a merchant's loaded keys before reading the control database again.
WECHATPAY_CERTIFICATES_REFRESH_SECONDS = env.int("WECHATPAY_CERTIFICATES_REFRESH_SECONDS", default=6 * 3600)
WECHATPAY_KEYS_CACHE_SECONDS = env.float("WECHATPAY_KEYS_CACHE_SECONDS", default=60.0)
# An unknown Wechatpay-Serial makes a process read the merchant again, at most once in this many seconds.
WECHATPAY_KEYS_RELOAD_MIN_SECONDS = env.float("WECHATPAY_KEYS_RELOAD_MIN_SECONDS", default=5.0)
# The orders' own (payments/conf.py reads them, docs/payments.md): how long an order may be paid, when a pending
# order is asked about at WeChat, the periodic reconciliation's period and its batch per tenant.
PAY_ORDER_EXPIRE_MINUTES = env.int("PAY_ORDER_EXPIRE_MINUTES", default=30)
PAY_RECONCILE_AFTER_MINUTES = env.int("PAY_RECONCILE_AFTER_MINUTES", default=10)
PAY_RECONCILE_EVERY_SECONDS = env.int("PAY_RECONCILE_EVERY_SECONDS", default=300)
PAY_RECONCILE_BATCH = env.int("PAY_RECONCILE_BATCH", default=200)
