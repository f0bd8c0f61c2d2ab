"""GET /api/v1/jobs/<id>: a background job's state and result, for the user whose request enqueued it only."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_job_state_get
from api.authentication import request_user
from api.schema import api_errors
from tenants.jobs.exceptions import JobNotFound


class JobApi(APIView):
    """Needs the token; another user's or another tenant's job id answers 404 job_not_found, like an id that
    never existed."""

    permission_classes = [IsAuthenticated]

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
        state = user_job_state_get(user=request_user(request), job_id=job_id)
        return Response(self.OutputSerializer(state).data)
