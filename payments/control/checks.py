"""System checks of the WeChat Pay settings (`manage.py check`).

payments.W001: PAY_NOTIFY_BASE_URL is set but is not an HTTPS URL without a query. WeChat Pay only posts to
HTTPS, and it refuses a notify_url that carries a query string. Plain HTTP to this machine is allowed, for
`./dev serve` and the fake.
payments.W002: WECHATPAY_API_BASE is not HTTPS and not this machine. Requests and answers would travel unencrypted,
signed but readable.
"""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _secure_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)


@register()
def wechatpay_urls_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    problems = []
    notify = str(getattr(settings, "PAY_NOTIFY_BASE_URL", "") or "")
    if notify and (not _secure_or_local(notify) or urlsplit(notify).query):
        problems.append(
            Warning(
                f"PAY_NOTIFY_BASE_URL is {notify!r}: WeChat Pay posts notifications only to HTTPS, with no query.",
                hint="Set it to the public HTTPS base of this deployment, for example https://api.example.com.",
                id="payments.W001",
            )
        )
    base = str(getattr(settings, "WECHATPAY_API_BASE", "") or "")
    if not _secure_or_local(base):
        problems.append(
            Warning(
                f"WECHATPAY_API_BASE is {base!r}, neither HTTPS nor this machine.",
                hint="Leave it unset (https://api.mch.weixin.qq.com) outside tests and ./dev serve.",
                id="payments.W002",
            )
        )
    return problems
