"""/wechat/v1/push/<app_id>: WeChat's pushes to one tenant, routed by the path (WeChat sends no X-AppID).

GET is the server-URL check of WeChat's push settings page; POST is a push, checked in the tenant's mode and
format (pushes.receiver), recorded once in the tenant's database and handled in a tenant job, so the answer
("success") leaves well within WeChat's 5 seconds. A refusal changes nothing and answers the one JSON error
shape; WeChat retries a push it got no "success" for, which a push we refused deserves.
"""

import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.exceptions import REDIS_UNREACHABLE, ApplicationError, ServiceUnavailable
from core.responses import error_response
from core.tenant_context import TenantContext, activate_tenant
from pushes import conf
from pushes.credentials import PushCredentials, push_credentials_for
from pushes.events import CUSTOMER_SERVICE_KINDS
from pushes.exceptions import REFUSALS, PushNotConfigured, PushRejected
from pushes.handlers import push_kind
from pushes.messages import text
from pushes.receiver import OpenedPush, push_addressee_check, push_open, reply_build, url_check
from pushes.replay import push_nonce_claim
from pushes.services import push_record
from tenants.moving.held import move_hold
from tenants.moving.selectors import tenant_move_frozen
from tenants.selectors import tenant_resolve
from wechat.crypto import PushRefused

logger = logging.getLogger(__name__)

SUCCESS = b"success"
# What the receiver answers itself (anything else is a bug, for the error middleware).
ANSWERED: tuple[type[BaseException], ...] = (PushRefused, ApplicationError, DatabaseError, *REDIS_UNREACHABLE)
# Message types (not events) a tenant may hand to WeChat's customer-service tool.
TRANSFERABLE = tuple(kind for kind in CUSTOMER_SERVICE_KINDS if kind != "user_enter_tempsession")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def push_receive(request: HttpRequest, app_id: str) -> HttpResponse:
    try:
        # The registry first: an AppID it does not know is answered from its (negative) cache, costing no query.
        tenant = tenant_resolve(app_id=app_id)
        credentials = _credentials(tenant.app_id)
    except ANSWERED as error:
        return _refusal(app_id, error)
    # The tenant is active from here on: its log lines carry its app_id (core.logging), its cache keys its scope.
    with activate_tenant(tenant):
        try:
            if request.method == "GET":
                return HttpResponse(url_check(credentials, request.GET), content_type="text/plain")
            return _push(request, tenant, credentials)
        except ANSWERED as error:
            return _refusal(app_id, error)


def _refusal(app_id: str, error: BaseException) -> HttpResponse:
    """The answer to a push that is refused or cannot be recorded now."""
    if isinstance(error, PushRefused):
        logger.warning("pushes: %s push refused (%s) %s", app_id, error.reason, error.detail)
        return error_response(REFUSALS[error.reason]())
    if isinstance(error, PushRejected):
        logger.warning("pushes: %s push refused (%s)", app_id, error.code)
        return error_response(error)
    if isinstance(error, ApplicationError):
        return error_response(error)
    logger.warning("pushes: %s push not recorded now: %s", app_id, error)
    return error_response(ServiceUnavailable("Unable to record the push now; WeChat will push it again."))


def _credentials(app_id: str) -> PushCredentials:
    credentials = push_credentials_for(app_id)
    if credentials is None:
        raise PushNotConfigured()
    return credentials


def _push(request: HttpRequest, tenant: TenantContext, credentials: PushCredentials) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    max_bytes = conf.max_body_bytes()
    if not declared.isdigit() or int(declared) > max_bytes:
        raise PushRefused("size")  # before the body is read
    tolerance = conf.timestamp_tolerance_seconds()
    opened = push_open(credentials, request.GET, request.body, max_bytes=max_bytes, tolerance=tolerance)
    push_addressee_check(credentials, opened.message, app_id=tenant.app_id)
    push_nonce_claim(
        timestamp=request.GET["timestamp"], nonce=request.GET.get("nonce", ""), body=request.body, tolerance=tolerance
    )
    kind = push_kind(opened.message)[:64] or "-"
    if tenant_move_frozen(app_id=tenant.app_id):
        # Its database takes no writes for a few seconds (tenants.moving): held, answered, recorded after the switch.
        move_hold(app_id=tenant.app_id, kind="push", payload=opened.message)
        return _answer(credentials, opened)
    record = push_record(message=opened.message)
    logger.info("pushes: %s %s push %s", tenant.app_id, kind, "recorded" if record else "again")
    return _answer(credentials, opened)


def _answer(credentials: PushCredentials, opened: OpenedPush) -> HttpResponse:
    """The answer: "success", or the transfer reply when the tenant hands customer service to WeChat's tool."""
    message = opened.message
    if not (credentials.transfer_customer_service and text(message, "MsgType") in TRANSFERABLE):
        return HttpResponse(SUCCESS, content_type="text/plain")
    fields = {
        "ToUserName": text(message, "FromUserName"),
        "FromUserName": text(message, "ToUserName"),
        "CreateTime": int(time.time()),
        "MsgType": "transfer_customer_service",
    }
    body, content_type = reply_build(credentials, fields, encrypted=opened.encrypted)
    return HttpResponse(body, content_type=content_type)
