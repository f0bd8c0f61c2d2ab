"""The check-in endpoints under /api/v1/checkin/: check in, the member's points, reminders, rewards to buy."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import request_user
from api.schema import api_errors
from checkin.exceptions import AlreadyCheckedIn, RewardNotFound
from checkin.models import Member
from checkin.selectors import checkin_settings_get, member_get, rewards_list, tenant_today
from checkin.services import checkin_create, reminder_request, reward_purchase_create


class CheckinMemberSerializer(serializers.Serializer):
    """A member's points (schema component CheckinMember)."""

    points = serializers.IntegerField()
    checkins = serializers.IntegerField()
    last_checkin_day = serializers.DateField(allow_null=True, help_text="In the mini-program's own time zone.")
    reminder_wanted = serializers.BooleanField(help_text="A reminder is promised (one subscribe message).")


class CheckinApi(APIView):
    """Checks the user in for today (the mini-program's time zone): once a day, 409 the second time."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        day = serializers.DateField()
        points = serializers.IntegerField(help_text="Earned by this check-in.")
        member = CheckinMemberSerializer()

    @extend_schema(request=None, responses={201: OutputSerializer})
    @api_errors(AlreadyCheckedIn)
    def post(self, request: Request) -> Response:
        checkin, member = checkin_create(user=request_user(request))
        body = {"day": checkin.day, "points": checkin.points, "member": member}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class CheckinMeApi(APIView):
    """The user's points, and whether they have checked in today."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        today = serializers.DateField(help_text="Today in the mini-program's time zone.")
        checked_in_today = serializers.BooleanField()
        member = CheckinMemberSerializer()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        today = tenant_today(checkin_settings=checkin_settings_get())
        member = member_get(user=request_user(request)) or Member(user=request_user(request))
        body = {"today": today, "checked_in_today": member.last_checkin_day == today, "member": member}
        return Response(self.OutputSerializer(body).data)


class CheckinReminderApi(APIView):
    """Call after wx.requestSubscribeMessage accepted the reminder's template: one reminder on an evening without
    a check-in (each acceptance allows WeChat one message)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=CheckinMemberSerializer)
    def post(self, request: Request) -> Response:
        return Response(CheckinMemberSerializer(reminder_request(user=request_user(request))).data)


class CheckinRewardSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    amount = serializers.IntegerField(help_text="Price in fen.")
    bonus_points = serializers.IntegerField()


class CheckinRewardsApi(APIView):
    """The rewards on sale in this mini-program."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        rewards = CheckinRewardSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer({"rewards": rewards_list()}).data)


class CheckinRewardPurchaseApi(APIView):
    """Starts buying a reward: a WeChat Pay order at the reward's price. Then POST its prepay_url and pass the
    answer to wx.requestPayment; once WeChat Pay says it is paid, the bonus points are added."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        order_id = serializers.IntegerField()
        amount = serializers.IntegerField(help_text="In fen.")
        description = serializers.CharField()
        prepay_url = serializers.CharField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    @api_errors(RewardNotFound)
    def post(self, request: Request, code: str) -> Response:
        purchase = reward_purchase_create(user=request_user(request), code=code)
        order = purchase.order
        body = {
            "order_id": order.pk,
            "amount": order.amount,
            "description": order.description,
            "prepay_url": f"/api/v1/pay/orders/{order.pk}/prepay",
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
