"""The admin's refund door: the form on a tenant's Payments page posts here, and comes back to that page.

A plain Django view (session, CSRF, staff) beside the platform API's refund, with the same permission
(payments.refund_order) and the same services; the audit entry's door is "admin".
"""

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
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

REFUND_ORDER = "payments.refund_order"


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


def _amount(text: str) -> int:
    if not text.strip().isdigit():
        raise InvalidAmount()
    return int(text)
