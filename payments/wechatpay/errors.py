"""What the WeChat Pay layer raises: WeChat's refusals, its absence, a refused notification, no merchant."""

from __future__ import annotations

from typing import Any

from core.exceptions import ApplicationError


class MerchantNotConfigured(ApplicationError):
    """The tenant has no WeChat Pay merchant (set one with set_tenant_payment, the admin or the platform API)."""

    code = "payment_not_configured"
    message = "This mini-program has no WeChat Pay merchant configured."
    status = 409


class PayError(Exception):
    """WeChat Pay answered 4xx with its error body: `code` is WeChat's ("ORDERPAID", "NOTENOUGH", ...)."""

    def __init__(self, code: str, message: str, status: int, detail: Any = None) -> None:
        super().__init__(f"WeChat Pay {status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        # Jobs pickle exceptions; the default would call __init__ with the message only.
        return (type(self), (self.code, self.message, self.status, self.detail))


class PayUnavailable(PayError):
    """No usable answer: time-out, connection error, 5xx, or an answer whose signature does not verify."""

    def __init__(self, message: str, status: int = 0, code: str = "UNAVAILABLE", detail: Any = None) -> None:
        super().__init__(code, message, status, detail)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.status, self.code, self.detail))


class AnswerNotVerified(PayUnavailable):
    """An answer whose signature does not verify with a WeChat Pay key of the merchant (or is out of the window)."""

    def __init__(self, message: str, status: int = 0, code: str = "ANSWER_NOT_VERIFIED", detail: Any = None) -> None:
        super().__init__(message, status, code, detail)


class NotificationRefused(Exception):
    """A notification we do not accept: the view answers `status` with {"code": "FAIL", "message": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
