"""GET /api/v1/jobs/<id>: a background job's state and result, for its own tenant only."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import api_errors
from tenants.jobs import job_state_get
from tenants.jobs.exceptions import JobNotFound


class JobApi(APIView):
    """Another tenant's job id answers 404 job_not_found, exactly like an id that never existed."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        status = serializers.ChoiceField(
            choices=["queued", "started", "deferred", "scheduled", "finished", "failed", "stopped", "canceled"],
            help_text="rq's status: a job waiting for a retry after a temporary error is `scheduled`.",
        )
        result = serializers.JSONField(allow_null=True, help_text="What the job returned, once finished.")
        error = serializers.DictField(
            child=serializers.CharField(),
            allow_null=True,
            help_text="code and message of the latest failure: why it failed, or why it is being retried.",
        )
        enqueued_at = serializers.DateTimeField(allow_null=True)
        started_at = serializers.DateTimeField(allow_null=True)
        ended_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    @api_errors(JobNotFound)
    def get(self, request: Request, job_id: str) -> Response:
        return Response(self.OutputSerializer(job_state_get(job_id=job_id)).data)
