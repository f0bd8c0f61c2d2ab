"""/platform/v1/tenants/<app_id>/payment: a tenant's WeChat Pay merchant, for platform staff.

PUT sets it (checked with WeChat Pay first, then stored with its secrets encrypted); GET shows what is set,
never a secret: only whether the private key and the APIv3 key are there.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.platform import URL_APP_ID_ERRORS, PlatformApi
from api.schema import api_errors
from api.serializers import StrictCharField
from payments.control.audit import SET_PAYMENT
from payments.control.exceptions import MerchantCheckUnavailable, MerchantRejected
from payments.control.models import TenantMerchant
from payments.control.selectors import merchant_get, platform_certificates_of
from payments.control.services import MCHID_PATTERN, SERIAL_PATTERN, merchant_set
from payments.wechatpay.errors import MerchantNotConfigured
from tenants.selectors import tenant_get

VIEW_MERCHANT = "payments_control.view_tenantmerchant"
CHANGE_MERCHANT = "payments_control.change_tenantmerchant"

PEM_MAX = 16_000


class CertificateSerializer(serializers.Serializer):
    serial = serializers.CharField()
    effective_time = serializers.DateTimeField()
    expire_time = serializers.DateTimeField()
    fetched_at = serializers.DateTimeField()


class MerchantOutputSerializer(serializers.Serializer):
    """The merchant of a tenant; the private key and the APIv3 key are never part of it."""

    app_id = serializers.CharField(source="tenant.app_id")
    mchid = serializers.CharField()
    serial = serializers.CharField()
    mode = serializers.ChoiceField(choices=TenantMerchant.Mode.choices)
    public_key_id = serializers.CharField()
    has_private_key = serializers.SerializerMethodField()
    has_apiv3_key = serializers.SerializerMethodField()
    platform_certificates = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_private_key(self, merchant: TenantMerchant) -> bool:
        return bool(merchant.private_key_encrypted)

    def get_has_apiv3_key(self, merchant: TenantMerchant) -> bool:
        return bool(merchant.apiv3_key_encrypted)

    @extend_schema_field(CertificateSerializer(many=True))
    def get_platform_certificates(self, merchant: TenantMerchant) -> list[dict[str, Any]]:
        return list(CertificateSerializer(platform_certificates_of(mchid=merchant.mchid), many=True).data)


class MchidField(StrictCharField):
    """WeChat Pay's merchant number, its form in the schema (merchant_set checks it again for the other doors)."""

    pattern = f"^{MCHID_PATTERN.pattern}$"
    pattern_message = "The mchid is WeChat Pay's merchant number: 6 to 32 digits."


class SerialField(StrictCharField):
    pattern = f"^{SERIAL_PATTERN.pattern}$"
    pattern_message = "The serial is the merchant certificate's serial number: 8 to 64 hexadecimal digits."


class TenantPaymentApi(PlatformApi):
    required_permissions = {"GET": (VIEW_MERCHANT, CHANGE_MERCHANT), "PUT": (CHANGE_MERCHANT,)}

    class InputSerializer(serializers.Serializer):
        mchid = MchidField(max_length=32)
        serial = SerialField(max_length=64, help_text="The merchant certificate's serial number (hexadecimal).")
        private_key = StrictCharField(
            max_length=PEM_MAX, write_only=True, help_text="apiclient_key.pem, the merchant's private key (PEM)."
        )
        apiv3_key = StrictCharField(max_length=64, write_only=True, help_text="The 32-byte APIv3 key.")
        public_key = StrictCharField(
            max_length=PEM_MAX, required=False, help_text="WeChat Pay's public key (PEM): public-key mode."
        )
        public_key_id = StrictCharField(max_length=64, required=False, help_text="Its id, PUB_KEY_ID_...")
        certificate = StrictCharField(
            max_length=PEM_MAX,
            required=False,
            help_text="apiclient_cert.pem: when given, the serial and the private key are checked against it.",
        )

    @extend_schema(responses=MerchantOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, MerchantNotConfigured)
    def get(self, request: Request, app_id: str) -> Response:
        tenant = tenant_get(app_id=app_id)
        return Response(MerchantOutputSerializer(merchant_get(app_id=tenant.app_id)).data)

    @extend_schema(request=InputSerializer, responses=MerchantOutputSerializer)
    @api_errors(*URL_APP_ID_ERRORS, MerchantRejected, MerchantCheckUnavailable)
    def put(self, request: Request, app_id: str) -> Response:
        """Checks the settings with WeChat Pay (a signed call; certificate mode: the certificates are downloaded
        and decrypted with the APIv3 key), then stores them, the secrets encrypted. Nothing changes on a refusal."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        change = merchant_set(
            app_id=app_id,
            mchid=data["mchid"],
            serial=data["serial"],
            private_key_pem=data["private_key"],
            apiv3_key=data["apiv3_key"],
            public_key_pem=data.get("public_key"),
            public_key_id=data.get("public_key_id"),
            merchant_certificate_pem=data.get("certificate"),
        )
        self.audit(SET_PAYMENT, change.merchant.tenant.app_id, **change.audit_details())
        return Response(MerchantOutputSerializer(change.merchant).data)
