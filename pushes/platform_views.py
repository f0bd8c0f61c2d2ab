"""/platform/v1/tenants/<app_id>/push and /messages: a tenant's push settings and its customer-service messages.

The same doors as api.platform (staff, a Django permission per method, knox tokens or the admin's session),
written here because pushes sits below api in the rooms (api -> avatars -> pushes): it may not import it.
"""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from knox.auth import TokenAuthentication
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from console import permissions as perms
from console.actors import actor_from_request
from console.models import AuditEntry
from console.services import audit_record
from core.tenant_context import activate_tenant
from pushes import conf
from pushes.control.audit import AUDIT_ACTION, audit_details
from pushes.control.models import PushSettings
from pushes.control.selectors import push_settings_get
from pushes.control.services import TOKEN_PATTERN, PushSettingsChange, push_settings_set
from pushes.exceptions import PushNotConfigured, PushSettingsInvalid
from pushes.schema import documented_errors
from pushes.selectors import customer_messages_list
from tenants.app_ids import app_id_validate
from tenants.exceptions import AppIdInvalid, TenantNotFound
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

VIEW_PUSH_SETTINGS = "pushes_control.view_pushsettings"
CHANGE_PUSH_SETTINGS = "pushes_control.change_pushsettings"


class StaffPermission(BasePermission):
    """Staff holding one of the permissions the view names for the method (as api.platform.PlatformPermission)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        required = view.required_permissions.get(method)
        return required is not None and any(user.has_perm(permission) for permission in required)


class TenantPlatformApi(APIView):
    # Token first: its WWW-Authenticate header makes a missing credential 401, not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [StaffPermission]
    required_permissions: dict[str, tuple[str, ...]] = {}

    def tenant(self, app_id: str) -> Tenant:
        try:
            app_id_validate(app_id)
        except AppIdInvalid:
            raise AppIdInvalid("The AppID in the URL is not a valid AppID.") from None
        tenant = Tenant.objects.filter(app_id=app_id).first()
        if tenant is None:
            raise TenantNotFound()
        return tenant


# The Token's form, published in the schema but checked by push_settings_set: a field validator would answer a bad
# Token alone, and the service reports every field that is wrong at once (a bad Token and a missing key together).
@extend_schema_field({"type": "string", "pattern": f"^{TOKEN_PATTERN.pattern}$"})
class PushTokenField(serializers.CharField):
    pass


class StrictBooleanField(serializers.BooleanField):
    """true or false, as the schema says: DRF's BooleanField would also take 0, 1, "yes", "on", ..."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class PushSettingsOutputSerializer(serializers.Serializer):
    """The settings without their secrets: only whether each is set."""

    app_id = serializers.CharField()
    push_path = serializers.CharField(help_text="Enter https://<your host> + this path as WeChat's push URL.")
    mode = serializers.CharField()
    format = serializers.CharField()
    transfer_customer_service = serializers.BooleanField()
    has_token = serializers.BooleanField()
    has_aes_key = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


def _settings_out(settings: PushSettings) -> dict[str, Any]:
    return {
        "app_id": settings.app_id,
        "push_path": f"/wechat/v1/push/{settings.app_id}",
        "mode": settings.mode,
        "format": settings.format,
        "transfer_customer_service": settings.transfer_customer_service,
        "has_token": bool(settings.token_encrypted),
        "has_aes_key": bool(settings.aes_key_encrypted),
        "updated_at": settings.updated_at,
    }


class TenantPushSettingsApi(TenantPlatformApi):
    """A tenant's push settings: what was entered on WeChat's push settings page (开发管理 > 消息推送)."""

    required_permissions = {
        "GET": (VIEW_PUSH_SETTINGS, CHANGE_PUSH_SETTINGS),
        "PUT": (CHANGE_PUSH_SETTINGS,),
    }

    class InputSerializer(serializers.Serializer):
        token = PushTokenField(
            required=False,
            write_only=True,
            help_text="3-32 letters or digits; omitted keeps the stored Token.",
        )
        aes_key = serializers.CharField(
            required=False,
            allow_blank=True,
            write_only=True,
            help_text="The 43-character EncodingAESKey (compatible and safe modes); omitted keeps the stored key.",
        )
        mode = serializers.ChoiceField(
            PushSettings.Mode.values,
            required=False,
            help_text="safe is the one to use: plain and compatible accept plain bodies, which WeChat does not sign.",
        )
        format = serializers.ChoiceField(PushSettings.Format.values, required=False)
        transfer_customer_service = StrictBooleanField(required=False)

    @extend_schema(responses=PushSettingsOutputSerializer)
    @documented_errors(AppIdInvalid, TenantNotFound, PushNotConfigured)
    def get(self, request: Request, app_id: str) -> Response:
        tenant = self.tenant(app_id)
        settings = push_settings_get(app_id=tenant.app_id)
        if settings is None:
            raise PushNotConfigured()
        return Response(PushSettingsOutputSerializer(_settings_out(settings)).data)

    @extend_schema(request=InputSerializer, responses=PushSettingsOutputSerializer)
    @documented_errors(AppIdInvalid, TenantNotFound, PushSettingsInvalid)
    def put(self, request: Request, app_id: str) -> Response:
        tenant = self.tenant(app_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = PushSettingsChange(**serializer.validated_data)
        settings = push_settings_set(app_id=tenant.app_id, change=change)
        audit_record(
            actor=actor_from_request(request, door=AuditEntry.Door.API),
            action=AUDIT_ACTION,
            app_id=tenant.app_id,
            details=audit_details(change),
        )
        return Response(PushSettingsOutputSerializer(_settings_out(settings)).data)


class CustomerMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    openid = serializers.CharField()
    kind = serializers.CharField(help_text="text, image, miniprogrampage or user_enter_tempsession.")
    msg_id = serializers.CharField()
    content = serializers.CharField(help_text="The text, the picture's URL, the card's title or the session's origin.")
    # Not Serializer.fields: DRF's metaclass moves declared fields out of the class (the stubs cannot know).
    fields = serializers.DictField(help_text="Every field of the push, as WeChat sent it.")  # type: ignore[assignment]
    create_time = serializers.IntegerField(allow_null=True)
    received_at = serializers.DateTimeField()


class TenantMessagesApi(TenantPlatformApi):
    """A tenant's customer-service messages, newest first (`before` pages back, `openid` keeps one user's)."""

    required_permissions = {"GET": perms.READ_TENANT}

    class QuerySerializer(serializers.Serializer):
        openid = serializers.CharField(required=False, max_length=64, help_text="Only this user's messages.")
        before = serializers.IntegerField(
            required=False, min_value=1, help_text="Only messages older than this id (the next page)."
        )

    @extend_schema(
        parameters=[QuerySerializer],
        responses=CustomerMessageSerializer(many=True),
    )
    @documented_errors(AppIdInvalid, TenantNotFound)
    def get(self, request: Request, app_id: str) -> Response:
        tenant = self.tenant(app_id)
        # A plain dict: from a QueryDict DRF drops an empty value (`?openid=`) as if absent, which the schema
        # (minLength 1, an integer) says is refused.
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        with activate_tenant(tenant_context_for(tenant)):
            messages = customer_messages_list(
                openid=query.validated_data.get("openid"),
                before_id=query.validated_data.get("before"),
                limit=conf.messages_page_size(),
            )
        return Response(CustomerMessageSerializer(messages, many=True).data)
