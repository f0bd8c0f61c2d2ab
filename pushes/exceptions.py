"""The errors of pushes, each with its code and status in the one JSON error shape (core.exceptions)."""

from typing import Any

from core.exceptions import ApplicationError


class PushNotConfigured(ApplicationError):
    code = "push_not_configured"
    message = "This mini-program has no push settings (manage.py set_tenant_push)."
    status = 404


class PushSignatureInvalid(ApplicationError):
    code = "push_signature_invalid"
    message = "The push's signature does not match the tenant's Token."
    status = 403


class PushTimestampInvalid(ApplicationError):
    code = "push_timestamp_invalid"
    message = "The push's timestamp is missing or too far from our clock."
    status = 403


class PushAppIdMismatch(ApplicationError):
    code = "push_app_id_mismatch"
    message = "The push was encrypted for another AppID than the one in its URL."
    status = 403


class PushMalformed(ApplicationError):
    code = "push_malformed"
    message = "The push's body is not well-formed in the tenant's mode and format."
    status = 400


class PushTooLarge(ApplicationError):
    code = "push_too_large"
    message = "The push's body is larger than pushes accept."
    status = 413


class PushRejected(ApplicationError):
    """A push refused by pushes' own checks (beyond wechat.crypto's): logged like a PushRefused."""


class PushAddresseeMismatch(PushRejected):
    code = "push_addressee_mismatch"
    message = "The push is addressed to another mini-program than the one in its URL."
    status = 403


class PushReplayed(PushRejected):
    code = "push_replayed"
    message = "This timestamp and nonce already signed another push."
    status = 403


# wechat.crypto.PushRefused's reasons -> what the receiver answers.
REFUSALS: dict[str, type[ApplicationError]] = {
    "signature": PushSignatureInvalid,
    "timestamp": PushTimestampInvalid,
    "appid": PushAppIdMismatch,
    "format": PushMalformed,
    "size": PushTooLarge,
}


class PushSettingsInvalid(ApplicationError):
    code = "invalid"
    message = "The push settings do not validate; `fields` says why."
    status = 400

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(extra={"fields": fields})
        self.fields = fields


class SubscriptionRefused(ApplicationError):
    code = "subscription_refused"
    message = "The user refused subscribe messages of this template; nothing was sent."
    status = 409
