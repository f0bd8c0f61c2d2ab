"""POST /api/v1/auth/login and /api/v1/auth/logout."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import user_login, user_logout
from api.authentication import request_token
from api.schema import api_errors
from api.serializers import StrictCharField, UserOutputSerializer
from api.wechat_errors import WECHAT_CALL_ERRORS


class LoginApi(APIView):
    """Exchanges a wx.login code for a token bound to this mini-program."""

    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        code = StrictCharField(max_length=128)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        user = UserOutputSerializer()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    @api_errors(*WECHAT_CALL_ERRORS)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, token = user_login(code=serializer.validated_data["code"])
        return Response(self.OutputSerializer({"token": token, "user": user}).data)


class LogoutApi(APIView):
    """Revokes the token this request was made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        user_logout(raw_token=request_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
