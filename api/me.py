"""GET/PATCH /api/v1/me and POST /api/v1/me/phone."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import user_bind_phone, user_update_profile
from api.authentication import request_user
from api.schema import api_errors
from api.serializers import StrictCharField, UserOutputSerializer
from api.wechat_errors import WECHAT_CALL_ERRORS

AVATAR_URL_REFUSED = (
    "An avatar cannot be set by URL: upload it with POST /api/v1/me/avatar, and it is shown once WeChat has checked it."
)


class MeApi(APIView):
    """The logged-in user's profile."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        nickname = StrictCharField(max_length=64, required=False, allow_blank=True)
        # Only "" (no avatar): an avatar is shown once WeChat's media check passed it, so it comes from
        # POST /api/v1/me/avatar and never as a URL the client names.
        avatar_url = StrictCharField(
            max_length=0,
            required=False,
            allow_blank=True,
            help_text='Only "" (remove the avatar); a new avatar is uploaded with POST /api/v1/me/avatar.',
            error_messages={"max_length": AVATAR_URL_REFUSED},
        )

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request: Request) -> Response:
        # The avatar's status came with the user in the token's query (accounts.tokens): no second query.
        return Response(UserOutputSerializer(request.user, context={"avatar_status_read": True}).data)

    @extend_schema(request=InputSerializer, responses=UserOutputSerializer)
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_update_profile(user=request_user(request), **serializer.validated_data)
        return Response(UserOutputSerializer(user).data)


class MePhoneApi(APIView):
    """Binds the phone number behind a getPhoneNumber code."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        code = StrictCharField(max_length=128)

    @extend_schema(request=InputSerializer, responses=UserOutputSerializer)
    @api_errors(*WECHAT_CALL_ERRORS)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_bind_phone(user=request_user(request), code=serializer.validated_data["code"])
        return Response(UserOutputSerializer(user).data)
