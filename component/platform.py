"""/platform/v1/component/: authorization links and the authorizers, for platform staff (api.platform's pattern)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.platform import URL_APP_ID_ERRORS, PlatformApi
from api.schema import api_errors
from api.serializers import StrictCharField
from api.wechat_errors import WeChatFailed
from component.exceptions import AuthorizerNotFound, ComponentNotConfigured
from component.models import Authorizer
from component.permissions import permissions_missing
from component.services import authorization_link_create
from component.tokens import authorizer_get
from console import permissions as perms
from console.actors import actor_from_request
from console.models import AuditEntry


class AuthorizationsApi(PlatformApi):
    required_permissions = {"POST": (perms.ADD_TENANT,)}

    class InputSerializer(serializers.Serializer):
        tenant_name = StrictCharField(
            max_length=100, required=False, help_text="The new tenant's name (else WeChat's nickname)."
        )

    class OutputSerializer(serializers.Serializer):
        url = serializers.CharField(help_text="componentloginpage (auth_type=2): open it on a PC, the owner scans.")
        mobile_url = serializers.CharField(help_text="bindcomponent: the owner opens it in WeChat on the phone.")
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    @api_errors(ComponentNotConfigured, WeChatFailed)
    def post(self, request: Request) -> Response:
        """A new authorization link: the owner who opens it authorizes Miniplex; the tenant is created or linked."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        page = authorization_link_create(
            actor=actor_from_request(request, door=AuditEntry.Door.API),
            tenant_name=serializer.validated_data.get("tenant_name", ""),
        )
        return Response(self.OutputSerializer(page).data, status=status.HTTP_201_CREATED)


class AuthorizerOutputSerializer(serializers.Serializer):
    app_id = serializers.CharField()
    status = serializers.CharField()
    func_info = serializers.ListField(child=serializers.IntegerField(), help_text="Permission sets granted.")
    missing = serializers.SerializerMethodField(help_text="feature -> the permission set it needs, not granted.")
    authorized_at = serializers.DateTimeField()
    unauthorized_at = serializers.DateTimeField(allow_null=True)

    def get_missing(self, authorizer: Authorizer) -> dict[str, str]:
        return permissions_missing(authorizer.func_info)


class AuthorizerDetailApi(PlatformApi):
    @extend_schema(responses=AuthorizerOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, AuthorizerNotFound)
    def get(self, request: Request, app_id: str) -> Response:
        """The authorization of one mini-program: the permission sets granted and the features missing one."""
        return Response(AuthorizerOutputSerializer(authorizer_get(app_id=app_id)).data)
