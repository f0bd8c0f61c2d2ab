"""/platform/v1/: the API of platform admins (Django staff users, by session or by a hashed knox token).

Each view names the Django permissions each method needs (console.permissions), the same ones the admin
checks; every lifecycle action that succeeds writes one audit entry (door "api").
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.jobs import JobApi
from api.schema import TenantAutoSchema, api_errors
from api.serializers import AppIdField, StrictCharField
from console import permissions as perms
from console.actors import actor_from_request
from console.facts import tenant_facts_get
from console.models import AuditEntry
from console.registry import tenant_facts_registered
from console.services import audit_record
from core.usage import usage_get
from tenants.app_ids import app_id_validate
from tenants.exceptions import (
    AppIdInvalid,
    RetireNotConfirmed,
    SecretRejected,
    TenantExists,
    TenantNotFound,
    TenantNotReady,
    UnknownDatabaseServer,
)
from tenants.jobs import platform_job_state_get
from tenants.jobs.exceptions import JobNotFound
from tenants.selectors import tenant_get, tenant_list
from tenants.services import tenant_onboard, tenant_resume, tenant_retire, tenant_rotate_secret, tenant_suspend


class PlatformPermission(BasePermission):
    """Staff, holding one of the Django permissions the view names for the request's method (none named: refused).

    Reading takes view_tenant or change_tenant, as Django's admin has it (who may change may see).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        required = view.required_permissions.get(method)
        return required is not None and any(user.has_perm(permission) for permission in required)


class PlatformSchema(TenantAutoSchema):
    """Each operation's description names the permissions it needs, as the admin and the commands' help do."""

    # drf-spectacular's AutoSchema has this signature; the stubs know only DRF's older inspector's.
    def get_description(self) -> str:  # type: ignore[override]
        needs = getattr(self.view, "required_permissions", {}).get(self.method.upper(), ())
        names = " or ".join(f"`{permission}`" for permission in needs)
        return f"{super().get_description()}\n\nNeeds staff status and the permission {names}.".strip()


class PlatformApi(APIView):
    # Token first: its WWW-Authenticate header makes a missing credential 401, not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [PlatformPermission]
    schema = PlatformSchema()
    required_permissions: dict[str, tuple[str, ...]] = {"GET": perms.READ_TENANT}

    def audit(self, action: str, app_id: str, **details: Any) -> None:
        audit_record(
            actor=actor_from_request(self.request, door=AuditEntry.Door.API),
            action=action,
            app_id=app_id,
            details=details,
        )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if "app_id" in kwargs:
            checked_app_id(kwargs["app_id"], where="The AppID in the URL")


def checked_app_id(value: str, *, where: str) -> str:
    """app_id_validate, with a message naming where the AppID came from (its own says the X-AppID header)."""
    try:
        return app_id_validate(value)
    except AppIdInvalid:
        raise AppIdInvalid(f"{where} is not a valid AppID.") from None


# What every /tenants/<app_id>/... call can answer about its AppID.
URL_APP_ID_ERRORS = (AppIdInvalid, TenantNotFound)


class TenantOutputSerializer(serializers.Serializer):
    """A registry row; the AppSecret is never part of it, only whether one is set."""

    app_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    db_server = serializers.CharField()
    db_name = serializers.CharField()
    has_secret = serializers.BooleanField()
    auth_mode = serializers.CharField(help_text="secret: its own AppSecret; component: authorized (open platform).")
    provisioning_job_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# console.facts' TenantFacts; each fact a tenant app registers (console.registry: accounts' `users`) is one more
# integer, null while the tenant is provisioning. (A comment, not a docstring: that would be the schema's text.)
class TenantFactsSerializer(serializers.Serializer):
    database_bytes = serializers.IntegerField(allow_null=True)
    jobs_queued = serializers.IntegerField()
    jobs_failed = serializers.IntegerField()
    last_request_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        contributed = {
            fact.name: serializers.IntegerField(allow_null=True, source=f"contributed.{fact.name}")
            for fact in tenant_facts_registered()
        }
        return {**contributed, **super().get_fields()}


# core.usage: a tenant's counts of one day (a comment, not a docstring: that would be the schema's text).
class UsageDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    requests = serializers.IntegerField()
    # DRF's metaclass takes declared fields out of the class, so this does not hide Serializer.errors.
    errors = serializers.IntegerField(help_text="Answers with a 5xx status.")  # type: ignore[assignment]
    busy = serializers.IntegerField(help_text="Requests refused with 429 tenant_busy (docs/fairness.md).")
    jobs = serializers.IntegerField(help_text="Jobs a worker took.")
    wechat_calls = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    days = UsageDaySerializer(many=True, help_text="The last 30 days, newest first.")
    totals = serializers.DictField(child=serializers.IntegerField())


class TenantListApi(PlatformApi):
    required_permissions = {"GET": perms.READ_TENANT, "POST": (perms.ADD_TENANT,)}

    class InputSerializer(serializers.Serializer):
        app_id = AppIdField(max_length=64)
        name = StrictCharField(max_length=100)
        db_server = StrictCharField(max_length=64, required=False)
        app_secret = StrictCharField(max_length=128, required=False, write_only=True)

    class CreatedSerializer(serializers.Serializer):
        tenant = TenantOutputSerializer()
        job_id = serializers.CharField()
        job_url = serializers.CharField()

    @extend_schema(responses=TenantOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(TenantOutputSerializer(tenant_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={202: CreatedSerializer})
    @api_errors(AppIdInvalid, UnknownDatabaseServer, SecretRejected, TenantExists)
    def post(self, request: Request) -> Response:
        """Registers the tenant at once and provisions its database in a platform job: follow job_url."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = tenant_onboard(
            app_id=checked_app_id(data["app_id"], where="The app_id of the body"),
            name=data["name"],
            server=data.get("db_server"),
            app_secret=data.get("app_secret"),
        )
        self.audit(AuditEntry.Action.ONBOARD, tenant.app_id, db_server=tenant.db_server, name=tenant.name)
        job_url = f"/platform/v1/jobs/{tenant.provisioning_job_id}"
        body = {"tenant": tenant, "job_id": tenant.provisioning_job_id, "job_url": job_url}
        return Response(self.CreatedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TenantDetailApi(PlatformApi):
    class OutputSerializer(TenantOutputSerializer):
        facts = TenantFactsSerializer()
        usage = UsageSerializer()

    @extend_schema(responses=OutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS)
    def get(self, request: Request, app_id: str) -> Response:
        tenant = tenant_get(app_id=app_id)
        facts = TenantFactsSerializer(tenant_facts_get(tenant=tenant)).data
        usage = UsageSerializer(usage_get(app_id=tenant.app_id)).data
        return Response({**TenantOutputSerializer(tenant).data, "facts": facts, "usage": usage})


class TenantSuspendApi(PlatformApi):
    required_permissions = {"POST": (perms.SUSPEND_TENANT,)}

    @extend_schema(request=None, responses=TenantOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS)
    def post(self, request: Request, app_id: str) -> Response:
        tenant = tenant_suspend(app_id=app_id)
        self.audit(AuditEntry.Action.SUSPEND, tenant.app_id)
        return Response(TenantOutputSerializer(tenant).data)


class TenantResumeApi(PlatformApi):
    required_permissions = {"POST": (perms.SUSPEND_TENANT,)}

    @extend_schema(request=None, responses=TenantOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, TenantNotReady)  # a tenant still provisioning
    def post(self, request: Request, app_id: str) -> Response:
        tenant = tenant_resume(app_id=app_id)
        self.audit(AuditEntry.Action.RESUME, tenant.app_id)
        return Response(TenantOutputSerializer(tenant).data)


class TenantSecretApi(PlatformApi):
    required_permissions = {"POST": (perms.ROTATE_SECRET,)}

    class InputSerializer(serializers.Serializer):
        app_secret = StrictCharField(max_length=128, write_only=True)

    @extend_schema(request=InputSerializer, responses=TenantOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, SecretRejected)
    def post(self, request: Request, app_id: str) -> Response:
        """Checks the new AppSecret with WeChat (a token is fetched with it), then stores it encrypted."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = tenant_rotate_secret(app_id=app_id, app_secret=serializer.validated_data["app_secret"])
        self.audit(AuditEntry.Action.ROTATE_SECRET, tenant.app_id)
        return Response(TenantOutputSerializer(tenant).data)


class TenantRetireApi(PlatformApi):
    required_permissions = {"POST": (perms.RETIRE_TENANT,)}

    class InputSerializer(serializers.Serializer):
        confirm_app_id = StrictCharField(max_length=64, help_text="The AppID again, to confirm.")

    @extend_schema(request=InputSerializer, responses={204: None})
    @api_errors(*URL_APP_ID_ERRORS, RetireNotConfirmed)
    def post(self, request: Request, app_id: str) -> Response:
        """Drops the database, the registry row, the cached entries and the jobs of the tenant."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = tenant_get(app_id=app_id)  # 404 for an unknown AppID, before the confirmation is judged
        tenant_retire(app_id=app_id, confirm_app_id=serializer.validated_data["confirm_app_id"])
        self.audit(AuditEntry.Action.RETIRE, app_id, db_server=tenant.db_server, db_name=tenant.db_name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlatformJobApi(PlatformApi):
    """A platform job's state, such as a tenant's provisioning."""

    @extend_schema(responses=JobApi.OutputSerializer)
    @api_errors(JobNotFound)
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobApi.OutputSerializer(platform_job_state_get(job_id=job_id)).data)
