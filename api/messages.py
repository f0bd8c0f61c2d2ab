"""POST /api/v1/messages/subscribe: queue a subscribe message to the logged-in user."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.messaging import subscribe_message_enqueue
from api.authentication import request_user
from api.schema import api_errors
from api.serializers import NO_NUL_PATTERN, StrictCharField
from pushes.exceptions import SubscriptionRefused


@extend_schema_field(
    {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
            "type": "object",
            "properties": {"value": {"type": "string", "maxLength": 200, "pattern": NO_NUL_PATTERN}},
            "required": ["value"],
            "additionalProperties": False,
        },
    }
)
class TemplateDataField(serializers.DictField):
    """The template's data; its schema is written out, as validate_data below allows only {"value": ...}."""


class SubscribeMessageApi(APIView):
    """Answers 202 with the job's id at once; GET /api/v1/jobs/<id> follows it."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        template_id = StrictCharField(max_length=128)
        # Not Serializer.data: DRF's metaclass moves declared fields out of the class (the stubs cannot know).
        data = TemplateDataField(  # type: ignore[assignment]
            child=serializers.DictField(child=StrictCharField(max_length=200, allow_blank=True)),
            allow_empty=False,
            help_text='WeChat\'s shape: {"thing1": {"value": "..."}, ...}',
        )
        page = StrictCharField(max_length=256, required=False)
        miniprogram_state = serializers.ChoiceField(["developer", "trial", "formal"], default="formal")
        lang = serializers.ChoiceField(["zh_CN", "en_US", "zh_HK", "zh_TW"], default="zh_CN")

        def validate_data(self, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
            if any(set(item) != {"value"} for item in value.values()):
                raise serializers.ValidationError('Each entry is {"value": "<text>"}.')
            return value

    class OutputSerializer(serializers.Serializer):
        job_id = serializers.CharField()
        status_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    @api_errors(SubscriptionRefused)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job_id = subscribe_message_enqueue(user=request_user(request), **serializer.validated_data)
        body = {"job_id": job_id, "status_url": f"/api/v1/jobs/{job_id}"}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
