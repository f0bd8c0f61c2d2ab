"""/api/v1/pay/...: the logged-in user's orders (POST creates one for an item of the price list) and prepay."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import request_user
from api.schema import api_errors
from api.serializers import StrictCharField
from payments.exceptions import (
    ItemNotFound,
    NotifyUrlNotConfigured,
    OrderNotFound,
    OrderNotPayable,
    PayNotAnswering,
    PayRefused,
)
from payments.models import Order
from payments.selectors import order_get_for_user
from payments.services import order_create_for_item, order_prepay
from payments.wechatpay import MerchantNotConfigured


def order_status_field() -> serializers.ChoiceField:
    # Its enum component is OrderStatusEnum (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES): several components have a
    # `status` of another set, and drf-spectacular would otherwise name this one by a hash (drf_spectacular.W001).
    return serializers.ChoiceField(choices=Order.Status.choices)


class OrderOutputSerializer(serializers.Serializer):
    """An order as its user sees it; the prepay_id and WeChat's other handles stay on the server."""

    id = serializers.IntegerField()
    out_trade_no = serializers.CharField()
    item = serializers.CharField(source="item_code")
    description = serializers.CharField()
    amount = serializers.IntegerField(help_text="In fen.")
    currency = serializers.SerializerMethodField()
    status = order_status_field()
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_currency(self, order: object) -> str:
        return "CNY"


class OrderCreateApi(APIView):
    """Creates the logged-in user's order for one item of the mini-program's price list (at its price)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        item = StrictCharField(max_length=32)

    @extend_schema(request=InputSerializer, responses={201: OrderOutputSerializer})
    @api_errors(ItemNotFound)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_create_for_item(user=request_user(request), item_code=serializer.validated_data["item"])
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    """One of the logged-in user's own orders (another user's is 404, as one that does not exist)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OrderOutputSerializer)
    @api_errors(OrderNotFound)
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get_for_user(user=request_user(request), order_id=order_id)
        return Response(OrderOutputSerializer(order).data)


class PrepayOutputSerializer(serializers.Serializer):
    """What wx.requestPayment takes, as it takes it."""

    timeStamp = serializers.CharField()  # noqa: N815 - wx.requestPayment's own names
    nonceStr = serializers.CharField()  # noqa: N815
    package = serializers.CharField(help_text="prepay_id=...")
    signType = serializers.ChoiceField(choices=["RSA"])  # noqa: N815
    paySign = serializers.CharField()  # noqa: N815


class OrderPrepayApi(APIView):
    """Asks WeChat Pay for the order's prepay_id (reused while valid) and signs wx.requestPayment's fields."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=PrepayOutputSerializer)
    @api_errors(OrderNotFound, OrderNotPayable, MerchantNotConfigured, NotifyUrlNotConfigured, PayRefused)
    @api_errors(PayNotAnswering)
    def post(self, request: Request, order_id: int) -> Response:
        order = order_get_for_user(user=request_user(request), order_id=order_id)
        return Response(PrepayOutputSerializer(order_prepay(order=order)).data)
