"""POST /api/v1/me/avatar: the image from WeChat's avatar chooser, kept pending until WeChat has checked it."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import request_user
from api.schema import api_errors
from api.throttling import TenantAnonThrottle, TenantUserThrottle
from avatars.exceptions import AvatarInvalid, AvatarTooLarge
from avatars.services import avatar_upload


@extend_schema_field({"type": "string", "format": "binary"})
class ImageFileField(serializers.FileField):
    """A file part of the request (drf-spectacular would describe a FileField as a URL, its shape in responses)."""


class AvatarUploadThrottle(TenantUserThrottle):
    """Uploads per user of one tenant: each costs a stored file and one of the AppID's WeChat checks (2,000 a
    minute, 200,000 a day), so a loop in one client must not spend them."""

    scope = "avatar_upload"

    def get_rate(self) -> str | None:
        return str(settings.AVATARS_UPLOAD_RATE)


class MeAvatarApi(APIView):
    """Answers 202: the upload is `pending`, and /api/v1/me keeps the previous avatar until WeChat says `pass`."""

    permission_classes = [IsAuthenticated]
    # multipart/form-data only (wx.uploadFile sends it); the file's type is read from its bytes, never from here.
    parser_classes = [MultiPartParser]
    throttle_classes = [TenantUserThrottle, TenantAnonThrottle, AvatarUploadThrottle]

    class InputSerializer(serializers.Serializer):
        file = ImageFileField(help_text="A JPEG, PNG or WebP image (the type is read from its bytes).")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField(source="status", help_text="`pending` until WeChat's check answers.")
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={202: OutputSerializer})
    @api_errors(AvatarInvalid, AvatarTooLarge)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        # At most one byte past the limit is read: enough to know it is too large.
        data = upload.read(settings.AVATARS_MAX_BYTES + 1)
        avatar = avatar_upload(user=request_user(request), data=data)
        return Response(self.OutputSerializer(avatar).data, status=status.HTTP_202_ACCEPTED)
