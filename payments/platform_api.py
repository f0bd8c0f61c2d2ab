"""POST /platform/v1/tenants/<app_id>/orders/<id>/refund: platform staff refund a paid order, partly or wholly.

Needs staff status and the `payments.refund_order` permission (the same one the admin's refund form asks for);
each refund asked is one audit entry (door "api").
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.platform import URL_APP_ID_ERRORS, PlatformApi
from api.schema import api_errors
from api.serializers import StrictCharField
from console import permissions as perms
from console.actors import actor_from_request
from console.models import AuditEntry
from core.tenant_context import activate_tenant
from payments.api import order_status_field
from payments.audit import refund_audit
from payments.exceptions import (
    InvalidAmount,
    NotifyUrlNotConfigured,
    OrderNotFound,
    OrderNotRefundable,
    PayNotAnswering,
    PayRefused,
    RefundTooLarge,
)
from payments.refunds import refund_reserve, refund_submit
from payments.selectors import order_get
from payments.wechatpay import MerchantNotConfigured
from tenants.selectors import tenant_context_for, tenant_get

REFUND_ORDER = "payments.refund_order"


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    out_refund_no = serializers.CharField()
    amount = serializers.IntegerField(help_text="In fen.")
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=["processing", "success", "closed", "abnormal"])
    order_status = serializers.CharField(source="order.status")
    created_at = serializers.DateTimeField()


class PlatformOrderOutputSerializer(serializers.Serializer):
    """An order as staff see it: WeChat's transaction id and every refund with it."""

    id = serializers.IntegerField()
    out_trade_no = serializers.CharField()
    user_id = serializers.IntegerField()
    item = serializers.CharField(source="item_code")
    description = serializers.CharField()
    amount = serializers.IntegerField(help_text="In fen.")
    status = order_status_field()
    transaction_id = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    refunds = RefundOutputSerializer(many=True, source="refunds.all")


class OrderPlatformApi(PlatformApi):
    """One order of a tenant, with its refunds (to follow a refund until WeChat settles it)."""

    required_permissions = {"GET": (REFUND_ORDER, *perms.READ_TENANT)}

    @extend_schema(responses=PlatformOrderOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, OrderNotFound)
    def get(self, request: Request, app_id: str, order_id: int) -> Response:
        tenant = tenant_get(app_id=app_id)
        with activate_tenant(tenant_context_for(tenant)):
            return Response(PlatformOrderOutputSerializer(order_get(order_id=order_id)).data)


class OrderRefundApi(PlatformApi):
    required_permissions = {"POST": (REFUND_ORDER,)}

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(
            min_value=1, help_text="In fen; all refunds together at most the paid amount."
        )
        reason = StrictCharField(max_length=80, required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses={201: RefundOutputSerializer})
    @api_errors(*URL_APP_ID_ERRORS, OrderNotFound, OrderNotRefundable, RefundTooLarge, InvalidAmount)
    @api_errors(MerchantNotConfigured, NotifyUrlNotConfigured, PayRefused, PayNotAnswering)
    def post(self, request: Request, app_id: str, order_id: int) -> Response:
        """Asks WeChat Pay to refund `amount` of a paid order; the refund notification settles it."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = tenant_get(app_id=app_id)
        with activate_tenant(tenant_context_for(tenant)):
            order = order_get(order_id=order_id)
            refund = refund_reserve(
                order_id=order.pk,
                amount=serializer.validated_data["amount"],
                reason=serializer.validated_data.get("reason", ""),
                requested_by=request.user.get_username(),
            )
            # Audited once reserved: a refund WeChat then refuses or never answers is in the trail as well.
            refund_audit(actor=actor_from_request(request, door=AuditEntry.Door.API), app_id=app_id, refund=refund)
            body = RefundOutputSerializer(refund_submit(refund=refund)).data
        return Response(body, status=status.HTTP_201_CREATED)
