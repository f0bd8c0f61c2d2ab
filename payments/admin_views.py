"""The admin's doors of payments: the forms on a tenant's Payments page post here, and come back to that page.

Plain Django views (session, CSRF, staff): the refund, beside the platform API's, with the same permission
(payments.refund_order) and the same services (the audit entry's door is "admin"); setting an item of the
price list, as `manage.py set_pay_item` does, for staff who may change the tenant.
"""

import re

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.actors import actor_from_request
from console.models import AuditEntry
from core.exceptions import ApplicationError
from core.tenant_context import activate_tenant
from payments.audit import refund_audit
from payments.exceptions import InvalidAmount
from payments.refunds import refund_reserve, refund_submit
from payments.selectors import order_get
from payments.services import item_set
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

REFUND_ORDER = "payments.refund_order"
# The price list is the tenant's to change: who may change the tenant in the admin may set its items.
SET_ITEM = "tenants.change_tenant"


@require_POST
@staff_member_required
def order_refund_form(request: HttpRequest, app_id: str, order_id: int) -> HttpResponse:
    if not request.user.has_perm(REFUND_ORDER):
        raise PermissionDenied
    tenant = Tenant.objects.filter(app_id=app_id).first()
    if tenant is None:
        raise Http404
    page = reverse("admin:tenants_tenant_payments", args=[tenant.pk])
    try:
        with activate_tenant(tenant_context_for(tenant)):
            refund = refund_reserve(
                order_id=order_get(order_id=order_id).pk,
                amount=_amount(request.POST.get("amount", "")),
                reason=request.POST.get("reason", "")[:80],
                requested_by=request.user.get_username(),
            )
            refund_audit(actor=actor_from_request(request, door=AuditEntry.Door.ADMIN), app_id=app_id, refund=refund)
            refund = refund_submit(refund=refund)
    except ApplicationError as error:
        messages.error(request, f"Order {order_id}: {error.message}")
    else:
        messages.success(request, f"Order {order_id}: refund of {refund.amount} fen asked ({refund.status}).")
    return HttpResponseRedirect(page)


@require_POST
@staff_member_required
def item_set_form(request: HttpRequest, app_id: str) -> HttpResponse:
    """The Payments page's "set an item" form: created, or its price and description changed."""
    if not request.user.has_perm(SET_ITEM):
        raise PermissionDenied
    tenant = Tenant.objects.filter(app_id=app_id).first()
    if tenant is None:
        raise Http404
    code = request.POST.get("code", "").strip()
    try:
        if not re.fullmatch(r"[-a-zA-Z0-9_]{1,32}", code):
            raise ItemCodeInvalid()
        with activate_tenant(tenant_context_for(tenant)):
            item = item_set(
                code=code,
                amount=_amount(request.POST.get("amount", "")),
                description=request.POST.get("description", "").strip()[:127] or code,
                active=request.POST.get("active") == "on",
            )
    except ApplicationError as error:
        messages.error(request, f"Item {code!r}: {error.message}")
    else:
        state = "on sale" if item.active else "not on sale"
        messages.success(request, f"Item {item.code}: {item.amount} fen, {state}.")
    return HttpResponseRedirect(reverse("admin:tenants_tenant_payments", args=[tenant.pk]))


class ItemCodeInvalid(ApplicationError):
    code = "invalid"
    message = "An item's code is 1-32 letters, digits, - or _."


def _amount(text: str) -> int:
    if not text.strip().isdigit():
        raise InvalidAmount()
    return int(text)
