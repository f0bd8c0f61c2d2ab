"""GET /api/v1/me/subscriptions: the logged-in user's answers to each template's subscription prompt."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pushes.selectors import subscriptions_for_user


class MySubscriptionsApi(APIView):
    """What WeChat told us of the user's subscriptions (its subscribe_msg_* pushes), one entry per template."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        template_id = serializers.CharField()
        status = serializers.ChoiceField(["accept", "reject", "ban"])
        remaining = serializers.IntegerField(help_text="One-time sends granted and not yet used.")
        sent = serializers.IntegerField(help_text="Sends WeChat reported delivered.")
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        # The mini-program user of the default authentication (api.authentication); pushes may not import api.
        openid = getattr(request.user, "openid", None)
        if not isinstance(openid, str):
            raise NotAuthenticated()
        return Response(self.OutputSerializer(subscriptions_for_user(openid=openid), many=True).data)
