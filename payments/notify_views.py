"""POST /pay/v1/notify/<app_id>/transaction and /refund: WeChat Pay's notifications, routed by the path.

WeChat Pay sends no X-AppID: the path names the tenant (one notify URL per merchant, as WeChat Pay's SDK
maintainers advise), so the tenant is looked up and activated here, for exactly this request. Every refusal is
a 4xx/5xx with {"code": "FAIL", "message": ...} (WeChat retries for 24 hours; the ack is the HTTP status), and
a notification handled, new or repeated, is 204 No Content. The answer is quick: the work an order's payment
sets off runs in the payment_succeeded job.
"""

import logging
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.exceptions import REDIS_UNREACHABLE, ApplicationError
from core.tenant_context import activate_tenant
from payments.notifications import refund_notification_handle, transaction_notification_handle
from payments.wechatpay import MerchantNotConfigured, NotificationRefused, merchant_keys_for
from tenants.exceptions import TenantSuspended
from tenants.middleware import UnknownAppIdsThrottled, unknown_app_id_guard
from tenants.selectors import tenant_resolve

logger = logging.getLogger(__name__)

Handler = Callable[..., bool]


def fail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"code": "FAIL", "message": message}, status=status)


def _notification_view(handle: Handler, kind: str) -> Callable[[HttpRequest, str], HttpResponse]:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, app_id: str) -> HttpResponse:
        try:
            tenant = tenant_resolve(app_id=app_id, guard=unknown_app_id_guard(request))
        except UnknownAppIdsThrottled:
            return fail(429, "too many notifications for unknown AppIDs from this address")
        except TenantSuspended:
            return fail(503, "this mini-program is suspended; unavailable until it is resumed")  # WeChat keeps trying
        except ApplicationError:  # a malformed or unknown AppID
            return fail(404, "unknown mini-program: no tenant has the AppID in this path")
        except DatabaseError:
            return fail(503, "the tenant registry is unreachable")
        with activate_tenant(tenant):
            try:
                keys = merchant_keys_for(tenant.app_id)
            except MerchantNotConfigured:
                return fail(404, "WeChat Pay is not configured for this mini-program")
            try:
                changed = handle(keys=keys, headers=request.headers, body=request.body)
            except NotificationRefused as refused:
                logger.warning("payments: %s notification refused (%s): %s", kind, refused.status, refused.message)
                return fail(refused.status, refused.message)
            except REDIS_UNREACHABLE + (DatabaseError,) as error:
                logger.warning("payments: %s notification not handled now: %s", kind, error)
                return fail(503, "temporarily unable to record the notification")
            logger.info("payments: %s notification accepted (%s)", kind, "changed" if changed else "a repeat")
        return HttpResponse(status=204)

    return view


transaction_notify = _notification_view(transaction_notification_handle, "transaction")
refund_notify = _notification_view(refund_notification_handle, "refund")
